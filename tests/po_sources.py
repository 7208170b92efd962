"""Print, as a .po file, the strings of a module that Tryton translates
(models, fields, helps, selections, views, buttons, menus, messages,
reports), in English: what locale/fr.po must translate.

    .venv/bin/python tests/po_sources.py bol_air_loyalty > /tmp/en.po

tests/test_translations.py fails while a string lacks its French."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ['TRYTOND_DATABASE_URI'] = 'sqlite://'
os.environ['DB_NAME'] = ':memory:'


def main(module):
    from tests.run import setup_environment
    setup_environment('sqlite')
    from proteus import Wizard
    from trytond.pool import Pool
    from trytond.tests.test_tryton import DB_NAME
    from trytond.tests.tools import activate_modules
    from trytond.transaction import Transaction
    activate_modules(module)
    Wizard('ir.translation.set').execute('set_')
    with Transaction().start(DB_NAME, 0):
        Translation = Pool().get('ir.translation')
        sys.stdout.buffer.write(Translation.translation_export('en', module))


if __name__ == '__main__':
    main(sys.argv[1])
