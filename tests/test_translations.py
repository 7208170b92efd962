"""Every text a user can see in our modules has its French translation.

The strings are what Tryton itself collects for translation (model, field,
help, selection, view, button, menu, message, report… of each module),
exported in English, and compared with the module's locale/fr.po. They do
not depend on the database: the test runs in the SQLite leg of make test
only."""
import os
import unittest
from pathlib import Path

import polib

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(p.parent.name for p in ROOT.glob('bol_air_*/tryton.cfg'))


class TranslationTestCase(unittest.TestCase):
    "French translations of the modules"

    @classmethod
    def setUpClass(cls):
        activate_module(MODULES)

    @with_transaction()
    def test_every_string_translated(self):
        "Each module's fr.po translates all its strings, none left over"
        pool = Pool()
        Translation = pool.get('ir.translation')
        # The strings of the views are collected on demand (the "Set
        # Translations" wizard), the others at activation
        TranslationSet = pool.get('ir.translation.set', type='wizard')
        session_id, _, _ = TranslationSet.create()
        TranslationSet(session_id).transition_set_()
        for module in MODULES:
            with self.subTest(module=module):
                exported = polib.pofile(
                    Translation.translation_export('en', module).decode())
                sources = {(e.msgctxt, e.msgid) for e in exported if e.msgid}
                french = polib.pofile(
                    str(ROOT / module / 'locale' / 'fr.po'))
                translated = {(e.msgctxt, e.msgid) for e in french
                    if e.msgstr and 'fuzzy' not in e.flags}
                self.assertFalse(
                    sorted(sources - translated),
                    f"{module}: strings without French translation")
                self.assertFalse(
                    sorted({(e.msgctxt, e.msgid) for e in french}
                        - sources),
                    f"{module}: translations of strings that no longer "
                    "exist")


def load_tests(loader, tests, pattern):
    if os.environ.get('BOLAIR_TEST_BACKEND', 'sqlite') != 'sqlite':
        return unittest.TestSuite()
    return tests
