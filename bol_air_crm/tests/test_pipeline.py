# This file is part of bol_air_crm.
"""The pipeline of future hosts in batch: holding meetings turns their
guests who want to host into leads with the same statements for 1 or 50
meetings."""
import datetime as dt
import unittest

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

from .querycount import count_statements

BATCH_INSERTS = ('INSERT INTO "bol_air_lead"', 'INSERT INTO "ir_model_log"')


class PipelineTestCase(unittest.TestCase):
    "Test the pipeline of future hosts"

    @classmethod
    def setUpClass(cls):
        activate_module('bol_air_crm')

    def _held_meetings(self, count, ambassador, prefix):
        """count held meetings, each with a host, a booked lead of the host,
        two guests who want to host and one who does not"""
        pool = Pool()
        Party = pool.get('party.party')
        Meeting = pool.get('bol_air.meeting')
        Lead = pool.get('bol_air.lead')
        hosts = Party.create([
                {'name': f'{prefix}-host-{i}'} for i in range(count)])
        guests = Party.create([
                {'name': f'{prefix}-guest-{i}-{j}'}
                for i in range(count) for j in range(3)])
        meetings = Meeting.create([{
                    'host': h.id,
                    'ambassador': ambassador.id,
                    'date': dt.datetime.now(),
                    'guests': [('create', [{
                                    'party': guests[3 * i + j].id,
                                    'wants_to_host': j < 2,
                                    } for j in range(3)])],
                    } for i, h in enumerate(hosts)])
        Meeting.plan(meetings)
        leads = Lead.create([{
                    'party': h.id,
                    'ambassador': ambassador.id,
                    'source': 'phone',
                    'meeting': m.id,
                    } for h, m in zip(hosts, meetings)])
        Lead.write(leads, {'state': 'booked'})
        Meeting.write(meetings, {'state': 'held'})
        return meetings, hosts, guests

    @with_transaction()
    def test_meetings_held_statement_count(self):
        "Leads of 1 or 50 held meetings come with the same statements"
        pool = Pool()
        Lead = pool.get('bol_air.lead')
        company = create_company()
        with set_company(company):
            ambassador = create_employee(company, name="Maryse Brun")
            warm_up, _, _ = self._held_meetings(1, ambassador, 'w')
            Lead.meetings_held(warm_up)
            counts = []
            for count in [1, 50]:
                meetings, hosts, guests = self._held_meetings(
                    count, ambassador, f'n{count}')
                with count_statements() as counter:
                    Lead.meetings_held(meetings)
                counts.append(sum(1 for s in counter.statements
                        if not s.startswith(BATCH_INSERTS)))

                held = Lead.search([('party', 'in', [h.id for h in hosts])])
                self.assertEqual(
                    {l.state for l in held}, {'held'})
                new = Lead.search([('party', 'in', [g.id for g in guests])])
                self.assertEqual(len(new), 2 * count)
                self.assertEqual(
                    {(l.state, l.source) for l in new}, {('new', 'guest')})
                referrers = {l.party.name: l.referrer.name for l in new}
                self.assertEqual(
                    referrers[f'n{count}-guest-0-1'], f'n{count}-host-0')
                self.assertNotIn(f'n{count}-guest-0-2', referrers)
            self.assertEqual(counts[0], counts[1], counts)
