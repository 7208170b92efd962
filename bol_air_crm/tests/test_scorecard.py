# This file is part of bol_air_crm.
import datetime as dt
import unittest
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from .querycount import count_statements

# Fields shown by CRM › Reports › Objective Tracking
SCORECARD_LIST_FIELDS = [
    'month', 'ambassador', 'ambassador.rec_name', 'currency',
    'meetings_held', 'meetings_objective', 'meetings_gap', 'revenue',
    'revenue_objective', 'revenue_gap', 'revenue_achievement',
    'average_sales', 'guests_per_meeting', 'bookings_per_meeting',
    'guest_host_rate', 'new_hosts', 'new_hosts_objective', 'new_hosts_gap',
    'complaint_rate']


class ScorecardTestCase(unittest.TestCase):
    "Test the scorecard of the ambassadors"

    @classmethod
    def setUpClass(cls):
        activate_module('bol_air_crm')

    @with_transaction()
    def test_scorecard_list_statement_count(self):
        "The scorecard reads 1 or 50 months with the same statements"
        pool = Pool()
        Objective = pool.get('bol_air.objective')
        Scorecard = pool.get('bol_air.scorecard')
        Party = pool.get('party.party')
        Meeting = pool.get('bol_air.meeting')
        company = create_company()
        start = dt.date(2020, 1, 1)
        with set_company(company):
            maryse = create_employee(company, name="Maryse Brun")
            remy = create_employee(company, name="Remy Albando")
            for ambassador, count in [(maryse, 1), (remy, 50)]:
                Objective.create([{
                            'ambassador': ambassador.id,
                            'month': start + relativedelta(months=i),
                            'revenue': Decimal(100),
                            'meetings': 2,
                            } for i in range(count)])
                hosts = Party.create([
                        {'name': f"Hôtesse {i}"} for i in range(count)])
                Meeting.create([{
                            'host': h.id,
                            'ambassador': ambassador.id,
                            'state': 'held',
                            'date': dt.datetime.combine(
                                start + relativedelta(months=i),
                                dt.time(14)),
                            } for i, h in enumerate(hosts)])
            counts = []
            for ambassador, count in [(maryse, 1), (remy, 50)]:
                with Transaction().set_context(ambassador=ambassador.id):
                    with count_statements() as counter:
                        lines = Scorecard.search([])
                        rows = Scorecard.read(
                            [l.id for l in lines], SCORECARD_LIST_FIELDS)
                counts.append(counter.count)
                self.assertEqual(len(rows), count)
                self.assertTrue(all(
                        r['meetings_held'] == 1
                        and r['meetings_gap'] == -1
                        and r['new_hosts'] == 1
                        and r['revenue_gap'] == Decimal(-100)
                        for r in rows), rows[:2])
            self.assertEqual(counts[0], counts[1], counts)
