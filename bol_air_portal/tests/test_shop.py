# This file is part of bol_air_portal.
"""The shop: the catalogue of the products sold online with their
tax-included prices, the cart, the checkout with a voucher and points into
one confirmed order with one posted invoice, the same form sent twice,
other customers' ids, the meeting link of virtual guests, the pictures."""
import datetime as dt
import functools
import re
import struct
import threading
import unittest
import zlib
from decimal import Decimal
from http import HTTPStatus
from itertools import count
from types import SimpleNamespace
from unittest.mock import patch

from proteus import Model
from proteus import config as pconfig
from trytond import backend
from trytond.modules.account.tests.tools import create_chart
from trytond.modules.company.tests import tools as company_tools
from trytond.model.exceptions import ValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase, activate_module
from trytond.transaction import Transaction, TransactionError

from bol_air_crm.tests.querycount import count_statements
from bol_air_crm.tests.tools import setup_crm
from bol_air_loyalty.demo import create_voucher_product

from ..product import catalogue_prices as catalogue_prices_cache
from ..routes import shop
from .tools import Browser, create_customer, restore_or_build, text

CACHE_NAME = 'bol_air_portal--fr--shop'
NUMBERS = count(1)


def png(width=4, height=4, rgb=(200, 120, 60)):
    "A small valid PNG image"
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    raw = b''.join(b'\x00' + bytes(rgb) * width for _ in range(height))
    return (b'\x89PNG\r\n\x1a\n'
        + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0))
        + chunk(b'IDAT', zlib.compress(raw))
        + chunk(b'IEND', b''))


def setup_shop(config):
    """The CRM's company, accounts, VAT and products, the voucher product;
    the portal's company; two products sold online in a category, one not
    sold; a ladder step of the points"""
    # The CRM's set-up finds records by their English names but the
    # database speaks French (its minimal chart of accounts is French)
    def create_company(config):
        result = company_tools.create_company(config=config)
        config._context['language'] = 'en'
        return result
    with patch('bol_air_crm.tests.tools.create_chart', functools.partial(
                create_chart, chart='account.account_template_root_fr')), \
            patch('bol_air_crm.tests.tools.create_company', create_company):
        setup_crm(config)
    config._context['language'] = 'fr'
    Category = Model.get('product.category', config=config)
    accounting, = Category.find([('accounting', '=', True)])
    create_voucher_product(config, accounting)
    Company = Model.get('company.company', config=config)
    PortalConfiguration = Model.get(
        'bol_air.portal.configuration', config=config)
    portal = PortalConfiguration(1)
    portal.company, = Company.find([])
    portal.save()
    plates = Category(name="Assiettes")
    plates.save()
    Template = Model.get('product.template', config=config)
    for template in Template.find([('name', 'in', ["Assiette", "Théière"])]):
        template.portal_sold = True
        template.portal_description = f"La {template.name.lower()} du Bol."
        if template.name == "Assiette":
            template.categories.append(Category(plates.id))
        template.save()
    carafe, = Template.duplicate(
        Template.find([('name', '=', "Théière")]), {'name': "Carafe"})
    carafe.portal_sold = False
    carafe.save()
    Step = Model.get('bol_air.loyalty.redemption.step', config=config)
    Step(points=50, amount=Decimal('5')).save()


class ShopTestCase(RouteTestCase):
    "Test the shop of the portal"
    module = 'bol_air_portal'
    language = 'fr'

    @classmethod
    def setUpClass(cls):
        # The activated database with the shop's set-up, cached
        unittest.TestCase.setUpClass()
        restore_or_build(CACHE_NAME, lambda: (
                activate_module(cls.module, lang=cls.language),
                setup_shop(pconfig.set_trytond(DB_NAME))))

    def setUp(self):
        super().setUp()
        self.sent = []
        patcher = patch.object(shop, 'send_message_transactional',
            lambda msg, **kw: self.sent.append(msg))
        patcher.start()
        self.addCleanup(patcher.stop)

    def _start(self):
        return Transaction().start(DB_NAME, 0, context={'language': 'fr'})

    def _customer(self, points=0, voucher=None):
        """A new customer with a portal account and a loyalty card with
        points, and a voucher of this amount; return her e-mail, her party
        id and the voucher code"""
        number = next(NUMBERS)
        email = f'cliente{number}@example.com'
        with self._start() as transaction:
            pool = Pool()
            Account = pool.get('bol_air.loyalty.account')
            Move = pool.get('bol_air.loyalty.move')
            Voucher = pool.get('bol_air.voucher')
            party, _ = create_customer(f"Cliente {number}", email)
            account, = Account.create([{'party': party.id}])
            if points:
                Move.create([{
                            'account': account.id, 'points': points,
                            'kind': 'correction', 'reason': "Test",
                            }])
            code = None
            if voucher:
                voucher, = Voucher.create([{
                            'party': party.id, 'amount': voucher,
                            'reason': "Test"}])
                code = voucher.code
            transaction.commit()
        return email, party.id, code

    def _browser(self, email):
        browser = Browser()
        response = browser.login(email)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        return browser

    def _in_company(self):
        "The context of the company (its list prices)"
        company, = Pool().get('company.company').search([])
        return Transaction().set_context(company=company.id)

    def _template(self, name):
        Template = Pool().get('product.template')
        template, = Template.search([('name', '=', name)])
        return template

    def _template_id(self, name):
        with self._start():
            return self._template(name).id

    def _add(self, browser, name, quantity):
        response = browser.post('/cart/add', {
                'product': self._template_id(name),
                'quantity': str(quantity)})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER,
            msg=text(response))
        return response

    def _checkout_form(self, browser):
        "The hidden fields of the checkout form"
        response = browser.get('/checkout')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        html = response.get_data(as_text=True)
        return {name: re.search(
                    r'name="%s" value="([^"]*)"' % name, html).group(1)
            for name in ['cart', 'token']}

    def _sales(self, party_id):
        Sale = Pool().get('sale.sale')
        return Sale.search([('party', '=', party_id)])

    def test_catalogue(self):
        "The catalogue shows the products sold online, tax included"
        browser = Browser()
        response = browser.get('/catalogue')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = text(response)
        self.assertIn("Assiette", body)
        self.assertIn("Théière", body)
        self.assertNotIn("Carafe", body)
        # 10 and 40 without tax, 20 % VAT
        self.assertIn("12,00", body)
        self.assertIn("48,00", body)
        self.assertIn("TTC", body)

        with self._start():
            Category = Pool().get('product.category')
            plates, = Category.search([('name', '=', "Assiettes")])
            plates_id = plates.id
            accounting, = Category.search([('accounting', '=', True)])
            accounting_id = accounting.id
        response = browser.get(f'/catalogue?category={plates_id}')
        body = text(response)
        self.assertIn("Assiette", body)
        self.assertNotIn("Théière", body)
        for value in [accounting_id, 'abc', 10 ** 12]:
            response = browser.get(f'/catalogue?category={value}')
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

        response = browser.get(f'/product/{self._template_id("Théière")}')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = text(response)
        self.assertIn("La théière du Bol.", body)
        self.assertIn("48,00", body)
        self.assertIn("Connectez-vous pour commander", body)
        for template_id in [self._template_id("Carafe"), 0, 999999]:
            response = browser.get(f'/product/{template_id}')
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_catalogue_statements(self):
        """The prices of the catalogue: as many statements for 2 products as
        for 3 of the same VAT (one more per VAT rate read); none once they
        are in the cache"""
        with self._start(), self._in_company():
            pool = Pool()
            Template = pool.get('product.template')
            page = SimpleNamespace(pool=pool, party=None)
            names = ["Assiette", "Théière", "Carafe"]
            # The carafe as the teapot (same VAT), for this transaction
            Template.write([self._template("Carafe")], {
                    'account_category': (
                        self._template("Théière").account_category.id)})
            counts = []
            for names in [names, names[:2], names]:
                templates = Template.search([('name', 'in', names)])
                catalogue_prices_cache.clear()
                with count_statements() as counter:
                    prices = shop.catalogue_prices(page, templates)
                self.assertEqual(len(prices), len(names))
                counts.append(counter.count)
            self.assertEqual(counts[1], counts[2], counts)
            with count_statements() as counter:
                self.assertEqual(
                    shop.catalogue_prices(page, templates), prices)
            self.assertEqual(counter.count, 0)

    def test_catalogue_prices_per_customer(self):
        """Each customer reads her own prices: a customer abroad whose tax
        rule takes the VAT off sees untaxed prices, the others the prices
        tax included, whoever looked first"""
        email_fr, _, _ = self._customer()
        email_export, export_id, _ = self._customer()
        with self._start() as transaction, self._in_company():
            pool = Pool()
            Rule = pool.get('account.tax.rule')
            Party = pool.get('party.party')
            company, = pool.get('company.company').search([])
            vat, = self._template("Théière").customer_taxes_used
            rule, = Rule.create([{
                        'name': "Export", 'kind': 'sale',
                        'company': company.id,
                        'lines': [('create', [{'origin_tax': vat.id}])],
                        }])
            party = Party(export_id)
            party.customer_tax_rule = rule
            party.save()
            transaction.commit()
        for email, price in [
                (email_fr, "48,00"), (email_export, "40,00"),
                (email_fr, "48,00"), (None, "48,00")]:
            browser = self._browser(email) if email else Browser()
            body = text(browser.get('/catalogue'))
            self.assertIn(price, body, email)
            self.assertIn(price, text(browser.get(
                        f'/product/{self._template_id("Théière")}')), email)

    def test_catalogue_product_change(self):
        """A product put online, renamed or taken off shows in the
        catalogue at once, though the catalogue is kept in a cache"""
        browser = Browser()
        self.assertNotIn("Carafe", text(browser.get('/catalogue')))
        self.assertNotIn("Carafe", text(browser.get('/catalogue')))

        def write(values):
            with self._start() as transaction, self._in_company():
                Template = Pool().get('product.template')
                carafe, = Template.search([
                        ('name', 'in', ["Carafe", "Grande carafe"])])
                if 'portal_sold' in values:
                    # Its VAT: the teapot's
                    values['account_category'] = (
                        self._template("Théière").account_category.id)
                Template.write([carafe], values)
                transaction.commit()
        write({'portal_sold': True})
        try:
            self.assertIn("Carafe", text(browser.get('/catalogue')))
            write({'name': "Grande carafe"})
            self.assertIn("Grande carafe", text(browser.get('/catalogue')))
        finally:
            write({'portal_sold': False, 'name': "Carafe"})
        self.assertNotIn("Carafe", text(browser.get('/catalogue')))

    def test_catalogue_price_change(self):
        """A new price or a new tax rate shows in the catalogue at once,
        though the prices are kept in a cache"""
        browser = Browser()
        self.assertIn("48,00", text(browser.get('/catalogue')))
        with self._start() as transaction, self._in_company():
            template = self._template("Théière")
            template.list_price = Decimal('45')
            template.save()
            transaction.commit()
        body = text(browser.get('/catalogue'))
        self.assertIn("54,00", body)
        self.assertNotIn("48,00", body)
        self.assertIn("54,00", text(browser.get(
                    f'/product/{self._template_id("Théière")}')))
        with self._start() as transaction, self._in_company():
            Tax = Pool().get('account.tax')
            tax, = self._template("Théière").customer_taxes_used
            rate = tax.rate
            Tax.write([tax], {'rate': Decimal('0.1')})
            transaction.commit()
        try:
            self.assertIn("49,50", text(browser.get('/catalogue')))
        finally:
            with self._start() as transaction, self._in_company():
                Tax.write([Tax(tax.id)], {'rate': rate})
                template = self._template("Théière")
                template.list_price = Decimal('40')
                template.save()
                transaction.commit()
        self.assertIn("48,00", text(browser.get('/catalogue')))

        # Without a price: out of the catalogue, its page not found
        teapot = self._template_id("Théière")
        with self._start() as transaction, self._in_company():
            template = self._template("Théière")
            template.list_price = None
            template.save()
            transaction.commit()
        try:
            self.assertNotIn("Théière", text(browser.get('/catalogue')))
            self.assertEqual(browser.get(f'/product/{teapot}').status_code,
                HTTPStatus.NOT_FOUND)
        finally:
            with self._start() as transaction, self._in_company():
                template = self._template("Théière")
                template.list_price = Decimal('40')
                template.save()
                transaction.commit()

    def test_image(self):
        "The picture of a product: a real image, its type, cached"
        browser = Browser()
        assiette = self._template_id("Assiette")
        response = browser.get(f'/product/{assiette}/image')
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

        image = png()
        with self._start() as transaction:
            Template = Pool().get('product.template')
            template = self._template("Assiette")
            for data in [b'<svg onload="alert(1)"/>',
                    b'GIF89a' + b'\x00' * 20,
                    b'\xff\xd8\xff' + b'\x00' * (3 * 1024 * 1024)]:
                with self.subTest(data=data[:10]):
                    with self.assertRaises(ValidationError):
                        Template.write([template], {'portal_image': data})
            Template.write([template], {'portal_image': image})
            self.assertEqual(template.portal_image_type, 'image/png')
            carafe = self._template("Carafe")
            Template.write([carafe], {'portal_image': image})
            transaction.commit()

        response = browser.get(f'/product/{assiette}/image')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.data, image)
        self.assertEqual(response.headers['Content-Type'], 'image/png')
        self.assertIn('max-age', response.headers['Cache-Control'])
        self.assertNotIn('Set-Cookie', response.headers)
        etag = response.headers['ETag']
        response = browser.get(f'/product/{assiette}/image',
            headers={'If-None-Match': etag})
        self.assertEqual(response.status_code, HTTPStatus.NOT_MODIFIED)
        self.assertIn(f'/product/{assiette}/image',
            browser.get('/catalogue').get_data(as_text=True))
        # Not sold online: no picture either
        response = browser.get(
            f'/product/{self._template_id("Carafe")}/image')
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_anonymous_cannot_order(self):
        "An anonymous visitor is sent to log in; nothing is recorded"
        browser = Browser()
        response = browser.post('/cart/add', {
                'product': self._template_id("Assiette"), 'quantity': '1'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('/portal/login', response.location)
        for path in ['/cart', '/checkout']:
            response = browser.get(path)
            self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
            self.assertIn('/portal/login', response.location)
        with self._start():
            Sale = Pool().get('sale.sale')
            self.assertFalse(Sale.search([('portal', '=', True)]))

    def test_cart(self):
        "Add, change and remove products; wrong quantities are refused"
        email, party_id, _ = self._customer()
        browser = self._browser(email)
        self._add(browser, "Assiette", 2)
        self._add(browser, "Assiette", 1)
        self._add(browser, "Théière", 1)
        response = browser.get('/cart')
        body = text(response)
        # 3 × 12 + 48
        self.assertIn("36,00", body)
        self.assertIn("84,00", body)
        self.assertIn("70,00", body)  # untaxed
        with self._start():
            sale, = self._sales(party_id)
            self.assertEqual(sale.state, 'draft')
            self.assertTrue(sale.portal)
            lines = {l.product.name: l for l in sale.lines}
            self.assertEqual(lines["Assiette"].quantity, 3)
            assiette, theiere = lines["Assiette"].id, lines["Théière"].id

        for quantity in ['0', '-1', '100', 'deux', '']:
            with self.subTest(quantity=quantity):
                response = browser.post('/cart/add', {
                        'product': self._template_id("Assiette"),
                        'quantity': quantity})
                self.assertEqual(
                    response.status_code, HTTPStatus.BAD_REQUEST)
                self.assertIn("entre 1 et 99", text(response))
        # 3 + 97 is more than a line takes
        response = browser.post('/cart/add', {
                'product': self._template_id("Assiette"), 'quantity': '97'})
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        response = browser.post(f'/cart/line/{assiette}', {'quantity': '100'})
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        # Not sold online
        response = browser.post('/cart/add', {
                'product': self._template_id("Carafe"), 'quantity': '1'})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

        response = browser.post(f'/cart/line/{assiette}', {'quantity': '5'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        response = browser.post(f'/cart/line/{theiere}/remove')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        with self._start():
            sale, = self._sales(party_id)
            line, = sale.lines
            self.assertEqual(line.quantity, 5)
        response = browser.post(f'/cart/line/{assiette}', {'quantity': '0'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn("Votre panier est vide", text(browser.get('/cart')))
        # An empty cart has nothing to check out
        response = browser.get('/checkout')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

    def test_order_with_voucher(self):
        """Two products and a voucher: one confirmed order, one posted
        invoice with the voucher's line, the voucher spent, the points
        earned, a French e-mail; the same form sent again changes nothing
        """
        email, party_id, code = self._customer(voucher=Decimal('10'))
        browser = self._browser(email)
        self._add(browser, "Assiette", 2)
        self._add(browser, "Théière", 1)
        form = self._checkout_form(browser)
        data = dict(form, action='confirm', address='new',
            street="3 rue du Pont", postal_code="87000", city="Limoges",
            voucher_code=code.replace('-', '').lower())
        response = browser.post('/checkout', data)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        done = response.location
        self.assertRegex(done, r'/order/\d+/done\?notice=order_done$')
        response = browser.get(done.split('/portal', 1)[1])
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = text(response)
        self.assertIn("confirmée", body)
        self.assertIn(email, body)

        # Sent again (double click, back button): the same confirmation
        response = browser.post('/checkout', data)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(response.location.split('?')[0], done.split('?')[0])

        with self._start():
            pool = Pool()
            Link = pool.get('bol_air.sale.invoice')
            Voucher = pool.get('bol_air.voucher')
            Move = pool.get('bol_air.loyalty.move')
            Configuration = pool.get('bol_air.configuration')
            sale, = self._sales(party_id)
            self.assertEqual(sale.state, 'processing')
            self.assertTrue(sale.portal)
            self.assertEqual(sale.shipment_address.city, "Limoges")
            # 2 × 12 + 48 - 10
            self.assertEqual(sale.total_amount, Decimal('62.00'))
            invoice, = Link.invoices([sale])
            self.assertEqual(invoice.state, 'posted')
            self.assertEqual(invoice.total_amount, Decimal('62.00'))
            voucher_line, = [l for l in invoice.lines
                if l.product == Configuration(1).voucher_product]
            self.assertEqual(voucher_line.amount, Decimal('-8.33'))
            voucher, = Voucher.search([('party', '=', party_id)])
            self.assertEqual(voucher.state, 'used')
            self.assertEqual(voucher.remaining, Decimal(0))
            move, = Move.search([
                    ('party', '=', party_id), ('kind', '=', 'purchase')])
            self.assertEqual(move.points, int(
                    invoice.untaxed_amount * Configuration(1).points_rate))
        msg, = self.sent
        self.assertIn(email, msg['To'])
        self.assertIn("Votre commande", msg['Subject'])
        content = msg.get_content()
        self.assertIn("Merci pour votre commande", content)
        self.assertIn("62,00", content)
        self.assertIn("https://localhost/", content)

        # Another cart, the spent voucher again: refused in French
        self._add(browser, "Assiette", 1)
        form = self._checkout_form(browser)
        response = browser.post('/checkout', dict(form, action='apply',
                voucher_code=code))
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn(code, text(response))
        self.assertIn(f'value="{code}"', response.get_data(as_text=True))

    def test_voucher_and_points(self):
        """A code that is not the customer's is refused with the loyalty
        module's message; points are exchanged for a voucher deducted from
        the order"""
        email, party_id, _ = self._customer(points=120)
        _, _, other_code = self._customer(voucher=Decimal('10'))
        browser = self._browser(email)
        self._add(browser, "Théière", 1)
        form = self._checkout_form(browser)
        response = browser.post('/checkout', dict(form, action='apply',
                voucher_code=other_code))
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        body = text(response)
        self.assertIn("Aucun bon d'achat", body)
        response = browser.post('/checkout', dict(form, action='apply',
                voucher_code='ZZZZ-ZZZZ-ZZZZ'))
        self.assertIn("Aucun bon d'achat", text(response))

        response = browser.get('/checkout')
        self.assertIn("Utiliser mes points (120 points)", text(response))
        with self._start():
            Step = Pool().get('bol_air.loyalty.redemption.step')
            step, = Step.search([('points', '=', 50)])
            step_id = step.id
        response = browser.post('/checkout', dict(form, action='apply',
                points_step=str(step_id)))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        response = browser.get('/checkout')
        # 48 - 5
        self.assertIn("43,00", text(response))
        with self._start():
            pool = Pool()
            Account = pool.get('bol_air.loyalty.account')
            Voucher = pool.get('bol_air.voucher')
            account, = Account.search([('party', '=', party_id)])
            self.assertEqual(account.balance, 70)
            voucher, = Voucher.search([('party', '=', party_id)])
            self.assertEqual(voucher.kind, 'redemption')
            sale, = self._sales(party_id)
            self.assertEqual(sale.total_amount, Decimal('43.00'))

        # The form shown before the points were used is no longer valid
        response = browser.post('/checkout', dict(form, action='confirm',
                address='new', street="1 rue", postal_code="87000",
                city="Limoges"))
        self.assertEqual(response.status_code, HTTPStatus.CONFLICT)
        self.assertIn("Votre panier a changé", text(response))

        # Not enough points left for a second voucher
        form = self._checkout_form(browser)
        with self._start() as transaction:
            Account = Pool().get('bol_air.loyalty.account')
            Move = Pool().get('bol_air.loyalty.move')
            account, = Account.search([('party', '=', party_id)])
            Move.create([{'account': account.id, 'points': -30,
                        'kind': 'correction', 'reason': "Test"}])
            transaction.commit()
        response = browser.post('/checkout', dict(form, action='apply',
                points_step=str(step_id)))
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn("points", text(response))
        response = browser.post('/checkout', dict(form, action='apply',
                points_step='999999'))
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn("ne peuvent pas être échangés", text(response))

        # The address is needed to confirm
        for values, message in [
                ({}, "Choisissez une adresse"),
                ({'address': 'new', 'street': "1 rue"},
                    "Indiquez la rue"),
                ({'address': 'new', 'street': "x" * 201,
                    'postal_code': "87000", 'city': "Limoges"},
                    "au plus 200 caractères"),
                ]:
            with self.subTest(values=values):
                response = browser.post('/checkout', dict(
                        form, action='confirm', **values))
                self.assertEqual(
                    response.status_code, HTTPStatus.BAD_REQUEST)
                self.assertIn(message, text(response))
        with self._start():
            sale, = self._sales(party_id)
            self.assertEqual(sale.state, 'draft')

    def test_other_customer(self):
        "Another customer's cart line, cart, address or order: 404"
        email_a, party_a, _ = self._customer()
        email_b, party_b, _ = self._customer()
        anne, berthe = self._browser(email_a), self._browser(email_b)
        self._add(berthe, "Assiette", 2)
        self._add(anne, "Théière", 1)
        form_b = self._checkout_form(berthe)
        form_a = self._checkout_form(anne)
        with self._start() as transaction:
            pool = Pool()
            Address = pool.get('party.address')
            address, = Address.create([{
                        'party': party_b, 'street': "Chez Berthe",
                        'city': "Limoges", 'postal_code': "87000"}])
            transaction.commit()
            sale_b, = self._sales(party_b)
            line_b, = sale_b.lines
            line_b, sale_b = line_b.id, sale_b.id

        for path, data in [
                (f'/cart/line/{line_b}', {'quantity': '5'}),
                (f'/cart/line/{line_b}/remove', {}),
                ('/checkout', dict(form_b, action='confirm',
                        address=str(address.id))),
                ('/checkout', dict(form_a, action='confirm',
                        address=str(address.id))),
                ]:
            with self.subTest(path=path):
                response = anne.post(path, data)
                self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
                self.assertIn("Page introuvable", text(response))

        response = berthe.post('/checkout', dict(form_b, action='confirm',
                address='new', street="2 rue", postal_code="87000",
                city="Limoges"))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        for path in [f'/order/{sale_b}/done', '/order/999999/done']:
            response = anne.get(path)
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        # Berthe's confirmed order: Anne's submit of it is a 404 too
        response = anne.post('/checkout', dict(form_b, action='confirm'))
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

        with self._start():
            sale_a, = self._sales(party_a)
            self.assertEqual(sale_a.state, 'draft')
            self.assertEqual(sale_a.shipment_address, None)
            sale_b, = self._sales(party_b)
            line, = sale_b.lines
            self.assertEqual(line.quantity, 2)
            self.assertEqual(sale_b.shipment_address.city, "Limoges")
            self.assertEqual(sale_b.shipment_address.street, "2 rue")

    def test_double_submit_at_once(self):
        """The same form sent twice at once (two tabs, a double click): one
        order, one invoice, both answers show its confirmation. On
        PostgreSQL the two run in parallel; SQLite has one writer."""
        email, party_id, _ = self._customer()
        browsers = [self._browser(email), self._browser(email)]
        self._add(browsers[0], "Assiette", 1)
        data = dict(self._checkout_form(browsers[0]), action='confirm',
            address='new', street="5 rue", postal_code="87000",
            city="Limoges")
        responses = [None, None]

        def submit(i):
            responses[i] = browsers[i].post('/checkout', data)
        if backend.name == 'postgresql':
            threads = [threading.Thread(target=submit, args=(i,))
                for i in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        else:
            submit(0)
            submit(1)
        self.assertEqual([r.status_code for r in responses],
            [HTTPStatus.SEE_OTHER] * 2, msg=[text(r) for r in responses])
        locations = {r.location.split('?')[0] for r in responses}
        location, = locations
        self.assertRegex(location, r'/order/\d+/done$')
        with self._start():
            Link = Pool().get('bol_air.sale.invoice')
            sale, = self._sales(party_id)
            self.assertEqual(sale.state, 'processing')
            self.assertEqual(len(Link.invoices([sale])), 1)

    def _meeting(self, state):
        "A meeting of a new host in this state; return its token"
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        Party = pool.get('party.party')
        Employee = pool.get('company.employee')
        Company = pool.get('company.company')
        host, = Party.create([{'name': f"Hôtesse {next(NUMBERS)}"}])
        company, = Company.search([])
        with Transaction().set_context(company=company.id):
            ambassador, = Employee.search([], limit=1)
            meeting, = Meeting.create([{
                        'company': company.id, 'host': host.id,
                        'ambassador': ambassador.id,
                        'date': dt.datetime.now() + dt.timedelta(days=3),
                        }])
            if state != 'draft':
                Meeting.plan([meeting])
            if state == 'cancelled':
                Meeting.cancel([meeting])
        return meeting

    def test_virtual_guest(self):
        """A guest follows the meeting's link: her order counts for the
        meeting and she is one of its guests"""
        email, party_id, _ = self._customer()
        with self._start() as transaction:
            meeting = self._meeting('planned')
            token, meeting_id = meeting.portal_token, meeting.id
            self.assertGreaterEqual(len(token), 32)
            self.assertIn(f'/portal/meeting/{token}', meeting.portal_url)
            cancelled = self._meeting('cancelled').portal_token
            draft = self._meeting('draft').portal_token
            transaction.commit()

        browser = Browser()
        response = browser.get(f'/meeting/{token}')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('/portal/login', response.location)
        browser = self._browser(email)
        for bad in ['x' * 32, draft, token[:-1]]:
            response = browser.get(f'/meeting/{bad}')
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        response = browser.get(f'/meeting/{cancelled}')
        self.assertEqual(response.status_code, HTTPStatus.GONE)
        self.assertIn("Cette réunion est terminée", text(response))
        response = browser.post(f'/meeting/{cancelled}')
        self.assertEqual(response.status_code, HTTPStatus.GONE)

        response = browser.get(f'/meeting/{token}')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Commander pour cette réunion", text(response))
        with self._start():
            # Opening the link changes nothing
            self.assertFalse(self._sales(party_id))
        response = browser.post(f'/meeting/{token}')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self._add(browser, "Assiette", 2)
        self.assertIn("Cette commande compte pour la réunion",
            text(browser.get('/cart')))
        form = self._checkout_form(browser)
        response = browser.post('/checkout', dict(form, action='confirm',
                address='new', street="4 rue", postal_code="87000",
                city="Limoges"))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        with self._start():
            pool = Pool()
            Meeting = pool.get('bol_air.meeting')
            sale, = self._sales(party_id)
            self.assertEqual(sale.meeting.id, meeting_id)
            self.assertIn(sale.state, {'confirmed', 'processing'})
            meeting = Meeting(meeting_id)
            self.assertIn(party_id, [g.party.id for g in meeting.guests])
            self.assertEqual(meeting.sales_amount, Decimal('24.00'))

    def test_meeting_already_ordered(self):
        """A guest whose order was taken at the meeting cannot attach a
        second one: the CRM's message"""
        email, party_id, _ = self._customer()
        with self._start() as transaction:
            pool = Pool()
            Sale = pool.get('sale.sale')
            meeting = self._meeting('planned')
            token = meeting.portal_token
            Sale.create([{
                        'party': party_id, 'company': meeting.company.id,
                        'currency': meeting.company.currency.id,
                        'meeting': meeting.id}])
            transaction.commit()
        browser = self._browser(email)
        self._add(browser, "Assiette", 1)
        response = browser.post(f'/meeting/{token}')
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn("a déjà la commande", text(response))
        with self._start():
            Sale = Pool().get('sale.sale')
            cart, = Sale.search([
                    ('party', '=', party_id), ('portal', '=', True)])
            self.assertIsNone(cart.meeting)

    def test_one_cart(self):
        "A customer has one open cart; an emptied cart is not confirmed"
        email, party_id, _ = self._customer()
        browser = self._browser(email)
        self._add(browser, "Assiette", 1)
        form = self._checkout_form(browser)
        with self._start() as transaction:
            pool = Pool()
            Sale = pool.get('sale.sale')
            Line = pool.get('sale.line')
            cart, = self._sales(party_id)
            with self.assertRaises(ValidationError):
                Sale.copy([cart], {'portal': True})
            transaction.rollback()
            # Emptied behind the form's back
            Line.delete(list(cart.lines))
            transaction.commit()
        response = browser.post('/checkout', dict(form, action='confirm',
                address='new', street="6 rue", postal_code="87000",
                city="Limoges"))
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)
        self.assertIn("Votre panier est vide", text(response))
        with self._start():
            cart, = self._sales(party_id)
            self.assertEqual(cart.state, 'draft')

    def test_meeting_close_detaches_carts(self):
        """Closing or cancelling a meeting leaves the unfinished carts alone:
        a cart is neither confirmed nor invoiced by the closing, the
        meeting's other orders are"""
        for action in ['close', 'cancel']:
            with self.subTest(action=action):
                self._meeting_detaches_cart(action)

    def _meeting_detaches_cart(self, action):
        email, party_id, _ = self._customer()
        with self._start() as transaction:
            meeting = self._meeting('planned')
            token, meeting_id = meeting.portal_token, meeting.id
            transaction.commit()
        browser = self._browser(email)
        browser.post(f'/meeting/{token}')
        self._add(browser, "Assiette", 1)

        def act():
            pool = Pool()
            Meeting = pool.get('bol_air.meeting')
            Sale = pool.get('sale.sale')
            Line = pool.get('sale.line')
            Link = pool.get('bol_air.sale.invoice')
            sale, = self._sales(party_id)
            self.assertEqual(sale.meeting.id, meeting_id)
            meeting = Meeting(meeting_id)
            if action == 'close':
                # An order taken at the meeting, on the host's name
                pool.get('party.address').create([{
                            'party': meeting.host.id,
                            'street': "1 rue de la Réunion",
                            'postal_code': '87000', 'city': "Limoges"}])
                order = Sale(party=meeting.host, meeting=meeting)
                order.on_change_party()
                line = Line(sale=order, quantity=1,
                    product=self._template("Théière").products[0])
                line.on_change_product()
                order.lines = [line]
                order.save()
                Meeting.hold([meeting])
                Meeting.close([meeting])
                self.assertEqual(Sale(order.id).state, 'processing')
                self.assertEqual(len(Link.invoices([Sale(order.id)])), 1)
            else:
                Meeting.cancel([meeting])
            sale, = self._sales(party_id)
            self.assertEqual(sale.state, 'draft')
            self.assertIsNone(sale.meeting)
            self.assertFalse(Link.invoices([sale]))
        # As the server runs a request: started again with the rows the
        # closing locks
        extras = {}
        while True:
            with Transaction().start(DB_NAME, 0, context={'language': 'fr'},
                    **extras) as transaction, self._in_company():
                try:
                    act()
                except TransactionError as e:
                    transaction.rollback()
                    e.fix(extras)
                    continue
                transaction.commit()
                break
        response = browser.get(f'/meeting/{token}')
        self.assertEqual(response.status_code, HTTPStatus.GONE)


del RouteTestCase
