# This file is part of bol_air_gdpr.
"""Target lists: the fill keeps its statement count whatever the number of
members; erased and merged people follow on the lists."""
import unittest

from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from bol_air_crm.tests.querycount import count_statements


class TargetListTestCase(unittest.TestCase):
    "Target lists"

    @classmethod
    def setUpClass(cls):
        activate_module('bol_air_gdpr')

    def _people(self, count, prefix, consent=True):
        """count customers named prefix-i with an e-mail and a mobile, who
        gave (or not) their newsletter consent"""
        pool = Pool()
        Party = pool.get('party.party')
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        parties = Party.create([{
                    'name': f"{prefix}-{i}",
                    'crm_customer': True,
                    'contact_mechanisms': [('create', [
                                {'type': 'email',
                                    'value': f'{prefix}-{i}@example.com'},
                                {'type': 'mobile',
                                    'value': f'+3361234{i:04d}'},
                                ])],
                    } for i in range(count)])
        if consent:
            newsletter = Purpose.by_code('newsletter')
            Consent.create([{
                        'party': p.id, 'purpose': newsletter.id,
                        'status': 'given', 'channel': 'phone',
                        'text_version': newsletter.current_text.id,
                        } for p in parties])
        return parties

    def _list(self, prefix):
        TargetList = Pool().get('bol_air.target.list')
        target, = TargetList.create([{
                    'name': prefix,
                    'criteria': TargetList.encode_criteria(
                        [('name', 'like', f'{prefix}-%')]),
                    }])
        return target

    @with_transaction()
    def test_fill_statement_count(self):
        "Filling a list of 1 or 50 people takes the same statements"
        pool = Pool()
        TargetList = pool.get('bol_air.target.list')
        Member = pool.get('bol_air.target.list.member')
        table = Member._table
        fills, reads = [], []
        # Warm the caches (access rights, triggers) the first fill fills
        self._people(1, "Warm")
        TargetList.fill([self._list("Warm")])
        for count in [1, 50]:
            prefix = f"N{count}"
            self._people(count, prefix)
            self._people(1, prefix + "-refus", consent=False)
            target = self._list(prefix)
            with count_statements() as counter:
                TargetList.fill([target])
            # SQLite inserts the records of a batch one by one; PostgreSQL
            # inserts one alone with RETURNING, a batch after reserving its
            # ids in one statement
            fills.append(counter.count_except_inserts(table) - sum(
                    s.startswith('SELECT nextval(')
                    for s in counter.statements))
            target = TargetList(target.id)
            self.assertEqual(
                (target.member_count, target.excluded_count), (count, 1))
            with count_statements() as counter:
                rows = Member.read(
                    [m.id for m in target.members], ['email', 'phone'])
            reads.append(counter.count)
            self.assertTrue(all(r['email'] and r['phone'] for r in rows))
        self.assertEqual(fills[0], fills[1], fills)
        self.assertEqual(reads[0], reads[1], reads)

    @with_transaction()
    def test_erased_person_leaves_lists(self):
        "An erased person is taken off every target list"
        pool = Pool()
        Party = pool.get('party.party')
        TargetList = pool.get('bol_air.target.list')
        anne, berthe = self._people(2, "Erase")
        target = self._list("Erase")
        TargetList.fill([target])
        Party.gdpr_erase([anne])
        self.assertEqual(
            [m.party for m in TargetList(target.id).members], [berthe])

    @with_transaction()
    def test_merged_duplicates_keep_one_entry(self):
        "Merging a duplicate keeps one entry a list, the kept person's"
        pool = Pool()
        Replace = pool.get('party.replace', type='wizard')
        Member = pool.get('bol_air.target.list.member')
        TargetList = pool.get('bol_air.target.list')
        kept, = self._people(1, "Same")
        duplicate, = self._people(1, "Same")
        both, only_duplicate = TargetList.create([
                {'name': "Both"}, {'name': "Duplicate only"}])
        Member.create([
                {'list_': both.id, 'party': kept.id},
                {'list_': both.id, 'party': duplicate.id},
                {'list_': only_duplicate.id, 'party': duplicate.id},
                ])
        session_id, _, _ = Replace.create()
        replace = Replace(session_id)
        replace.ask.source = duplicate
        replace.ask.destination = kept
        with Transaction().set_context(_skip_warnings=True):
            replace.transition_replace()
        self.assertEqual(
            [m.party for m in TargetList(both.id).members], [kept])
        self.assertEqual(
            [m.party for m in TargetList(only_duplicate.id).members], [kept])
