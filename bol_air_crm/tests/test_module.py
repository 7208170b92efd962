# This file is part of bol_air_crm.
import datetime as dt
from decimal import Decimal

from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.modules.party.tests import (
    PartyCheckEraseMixin, PartyCheckReplaceMixin)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction

from .querycount import count_statements

# Fields shown by the customer list (CRM › Customers)
CUSTOMER_LIST_FIELDS = [
    'code', 'name', 'host_status', 'ambassador', 'ambassador.rec_name',
    'meeting_count', 'annual_revenue', 'next_follow_up', 'source']


class BolAirCrmTestCase(
        PartyCheckEraseMixin, PartyCheckReplaceMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test Bol d'Air CRM module"
    module = 'bol_air_crm'

    def _create_customers(self, count, ambassador):
        pool = Pool()
        Party = pool.get('party.party')
        Interaction = pool.get('bol_air.interaction')
        Meeting = pool.get('bol_air.meeting')
        today = dt.date.today()
        parties = Party.create([{
                    'crm_customer': True,
                    'last_name': f'CLIENT{i}',
                    'first_name': 'Anne',
                    'ambassador': ambassador.id,
                    'legacy_revenue': Decimal(i),
                    'legacy_revenue_date': today,
                    'legacy_meeting_count': 1,
                    } for i in range(count)])
        Interaction.create([{
                    'party': p.id, 'summary': "Appel",
                    'follow_up_date': today,
                    } for p in parties])
        Meeting.create([{'host': p.id} for p in parties])
        return parties

    @with_transaction()
    def test_customer_list_statement_count(self):
        "The customer list reads 1 or 50 customers with the same statements"
        pool = Pool()
        Party = pool.get('party.party')
        company = create_company()
        with set_company(company):
            ambassador = create_employee(company, name="Maryse Brun")
            warm_up = self._create_customers(1, ambassador)
            one = self._create_customers(1, ambassador)
            fifty = self._create_customers(50, ambassador)
            Party.read([p.id for p in warm_up], CUSTOMER_LIST_FIELDS)

            counts = []
            for parties in [one, fifty]:
                with count_statements() as counter:
                    rows = Party.read(
                        [p.id for p in parties], CUSTOMER_LIST_FIELDS)
                counts.append(counter.count)
                self.assertEqual(len(rows), len(parties))
                self.assertTrue(all(r['meeting_count'] == 1 for r in rows))
                self.assertTrue(all(
                        r['ambassador.']['rec_name'] == "Maryse Brun"
                        for r in rows))
            self.assertEqual(counts[0], counts[1], counts)
            self.assertEqual(
                sum(r['annual_revenue'] for r in Party.read(
                        [p.id for p in fifty], ['annual_revenue'])),
                sum(Decimal(i) for i in range(50)))

    @with_transaction()
    def test_customer_number_skips_used_numbers(self):
        "A new customer never takes a number kept from the former file"
        pool = Pool()
        Party = pool.get('party.party')
        Configuration = pool.get('bol_air.configuration')
        Sequence = pool.get('ir.sequence')
        # PostgreSQL sequences are not rolled back between tests
        Sequence.write(
            [Configuration(1).customer_sequence], {'number_next': 1})
        legacy, = Party.create([{
                    'crm_customer': True, 'code': '1', 'name': "REVEL"}])
        new, = Party.create([{'crm_customer': True, 'name': "NOUVEAU"}])
        other, = Party.create([{'name': "Fournisseur"}])
        self.assertEqual(new.code, '2')
        self.assertTrue(other.code.startswith('T'), other.code)


del ModuleTestCase
