# This file is part of bol_air_portal.
from decimal import Decimal

from trytond.modules.account.tests import create_chart
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

PAYLOAD = '<script>alert(1)</script>'


class BolAirPortalTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Bol d'Air portal module"
    module = 'bol_air_portal'

    def _invoice(self, company):
        "A customer invoice of a customer whose name and line are a script"
        pool = Pool()
        Party = pool.get('party.party')
        Account = pool.get('account.account')
        Journal = pool.get('account.journal')
        Invoice = pool.get('account.invoice')
        Identifier = pool.get('party.identifier')
        Tax = pool.get('account.tax')
        create_chart(company, tax=True)
        Address = pool.get('party.address')
        address, = Address.search([('party', '=', company.party.id)])
        Address.write([address], {
                'street': "1 rue du Puy",
                'postal_code': '87000', 'city': "Limoges"})
        Identifier.create([{
                    'party': company.party.id, 'type': 'fr_siret',
                    'address': address.id, 'code': '73282932000074'}])
        party, = Party.create([{
                    'name': PAYLOAD,
                    'addresses': [('create', [{
                                    'street': '<img src=x onerror=alert(2)>',
                                    'city': "Limoges"}])],
                    }])
        revenue, = Account.search([
                ('type.revenue', '=', True),
                ('closed', '!=', True),
                ], limit=1)
        journal, = Journal.search([('type', '=', 'revenue')], limit=1)
        invoice = Invoice(type='out', company=company, party=party,
            journal=journal, currency=company.currency)
        invoice.on_change_party()
        invoice.lines = [{
                'company': company, 'type': 'line', 'account': revenue,
                'description': "Assiette <b>creuse</b>",
                'quantity': 3, 'unit_price': Decimal('10.0000'),
                'currency': company.currency,
                'taxes': Tax.search([]),
                }, {
                'company': company, 'type': 'line', 'account': revenue,
                'description': "Bol", 'quantity': 1,
                'unit_price': Decimal('8.3333'),
                'currency': company.currency,
                }]
        invoice.save()
        return invoice

    @with_transaction()
    def test_invoice_report(self):
        "The invoice prints as a PDF, in French, its texts escaped"
        pool = Pool()
        ActionReport = pool.get('ir.action.report')
        Report = pool.get('bol_air_portal.invoice', type='report')
        company = create_company()
        with set_company(company), Transaction().set_context(language='en'):
            invoice = self._invoice(company)
            extension, content, _, name = Report.execute([invoice.id], {})
            self.assertEqual(extension, 'pdf')
            self.assertTrue(bytes(content).startswith(b'%PDF-'))
            action, = ActionReport.search([
                    ('report_name', '=', Report.__name__)])
            html = Report.render(
                action, Report.get_context([invoice], {}, {}))
        self.assertNotIn('<script>', html)
        self.assertIn('&lt;script&gt;alert(1)&lt;/script&gt;', html)
        self.assertNotIn('<img', html)
        self.assertIn('&lt;img src=x onerror=alert(2)&gt;', html)
        self.assertIn('Assiette &lt;b&gt;creuse&lt;/b&gt;', html)
        self.assertIn('1 rue du Puy', html)
        self.assertIn('SIRET', html)
        self.assertIn('732 829 320 00074', html)
        self.assertIn('20% VAT', html)
        self.assertIn('Total incl. VAT', html)
        # Unit prices with the currency's digits, more only when needed
        self.assertIn('10.00<', html)
        self.assertNotIn('10.0000', html)
        self.assertIn('8.3333<', html)


del ModuleTestCase
