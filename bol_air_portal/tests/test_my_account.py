# This file is part of bol_air_portal.
"""The customer's space ("Mon compte"): each page shows the figures of the
logged-in customer and never another customer's; consents keep their
proof; the data export, the erasure request and the wish to host."""
import datetime as dt
import io
import json
import random
import re
import zipfile
import zlib
from contextlib import contextmanager
from decimal import Decimal
from http import HTTPStatus
from unittest.mock import patch

from proteus import config as pconfig
from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase, activate_module
from trytond.transaction import (
    Transaction, TransactionError, inactive_records)

from bol_air_loyalty.tests.tools import setup_loyalty

from .tools import (
    PASSWORD, Browser, create_customer, restore_or_build, text)

# The activated database with the company, its chart and products
FIXTURE = 'bol_air_portal--setup_loyalty--fr'
IP = '192.0.2.44'
MANY = 8
AGENT = 'Navigateur de test/2.0'


def _cursor_class():
    "The class of the cursors of the backend"
    if backend.name == 'sqlite':
        from trytond.backend.sqlite.database import SQLiteCursor
        return SQLiteCursor
    import psycopg
    return psycopg.Cursor


@contextmanager
def count_statements():
    "The statements sent meanwhile, whatever the transaction (requests)"
    statements = []
    Cursor = _cursor_class()
    execute = Cursor.execute

    def counting_execute(self, query, *args, **kwargs):
        statements.append(str(query))
        return execute(self, query, *args, **kwargs)

    with patch.object(Cursor, 'execute', counting_execute):
        yield statements


def pdf_title(data):
    """The title of a PDF: its information dictionary (the one with the
    producer), in a compressed object stream of WeasyPrint's PDF 1.7; no
    PDF library needed"""
    for match in re.finditer(rb'stream\r?\n', data):
        try:
            stream = zlib.decompressobj().decompress(data[match.end():])
        except zlib.error:
            continue
        for info in re.findall(rb'<<(?:[^<>]|<[0-9a-fA-F]*>)*>>', stream):
            found = re.search(
                rb'/Title ?(\((?:[^()\\]|\\.)*\)|<[0-9a-fA-F]*>)', info)
            if found and b'/Producer' in info:
                value = found.group(1)
                if value.startswith(b'<'):
                    return bytes.fromhex(value[1:-1].decode()).decode(
                        'utf-16')
                return re.sub(rb'\\(.)', rb'\1', value[1:-1]).decode(
                    'latin-1')
    return None


def follow(browser, response):
    "The page a redirect leads to"
    path = response.location.split('/portal', 1)[1]
    return browser.get(path)


def start(readonly=False, **extras):
    "A transaction as the administrator, in the company"
    with Transaction().start(DB_NAME, 1, readonly=True):
        User = Pool().get('res.user')
        context = User.get_preferences(context_only=True)
    return Transaction().start(
        DB_NAME, 1, context=dict(context, language='fr'), readonly=readonly,
        **extras)


def run(func):
    """Run func in a transaction and commit, started again with the locks
    it asks for (as trytond's dispatcher does)"""
    extras = {}
    while True:
        with start(**extras) as transaction:
            try:
                result = func()
            except TransactionError as e:
                transaction.rollback()
                e.fix(extras)
                continue
            transaction.commit()
            # Its queued tasks (printing the invoices) stay in the queue:
            # no worker runs them
            transaction.tasks.clear()
            return result


def build_fixture():
    "The portal activated with the loyalty set-up, then in French"
    activate_module(['bol_air_portal'])
    setup_loyalty(pconfig.set_trytond(DB_NAME))
    with Transaction().start(DB_NAME, 0) as transaction:
        pool = Pool()
        Lang = pool.get('ir.lang')
        Configuration = pool.get('ir.configuration')
        Lang.load_translations(Lang.search([('code', '=', 'fr')]))
        configuration = Configuration(1)
        configuration.language = 'fr'
        configuration.save()
        transaction.commit()


class MyAccountTestCase(RouteTestCase):
    "Test the customer's space"
    module = 'bol_air_portal'
    # The charts of the tests are English: French is loaded after them
    language = 'en'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        restore_or_build(FIXTURE, build_fixture)
        cls.data = run(cls.create_data)

    @classmethod
    def create_data(cls):
        """Customers A (Anne) and B (Berthe): their cards, orders (confirmed
        and invoiced once, plus a cart left in draft), vouchers"""
        pool = Pool()
        Party = pool.get('party.party')
        Account = pool.get('bol_air.loyalty.account')
        Voucher = pool.get('bol_air.voucher')
        Sale = pool.get('sale.sale')
        Product = pool.get('product.product')
        User = pool.get('res.user')
        maryse, = User.search([('login', '=', 'maryse')])
        plate, = Product.search([('name', '=', "Assiette")])
        teapot, = Product.search([('name', '=', "Théière")])
        prices = {plate: Decimal('10.0000'), teapot: Decimal('40.0000')}
        data = {}
        for key, last, first, email in [
                ('a', "DUPONT", "Anne", 'anne.dupont@example.com'),
                ('b', "MARTIN", "Berthe", 'berthe.martin@example.com'),
                ('one', "UNE", "Commande", 'une@example.com'),
                ('many', "HUIT", "Commandes", 'huit@example.com')]:
            party, user = create_customer(f"{last} {first}", email)
            Party.write([party], {
                    'crm_customer': True,
                    'last_name': last, 'first_name': first,
                    'ambassador': maryse.employee.id,
                    'addresses': [('create', [{
                                    'street': f"{key} rue des Tilleuls",
                                    'postal_code': '87000',
                                    'city': "Limoges"}])],
                    })
            card, = Account.create([{'party': party.id}])
            address, = party.addresses
            data[key] = {
                'party': party.id, 'user': user.id, 'email': email,
                'card': card.id, 'address': address.id}

        def sale(key, lines, state='confirmed'):
            party = Party(data[key]['party'])
            sale, = Sale.create([{
                        'party': party.id,
                        'invoice_address': data[key]['address'],
                        'shipment_address': data[key]['address'],
                        'lines': [('create', [{
                                        'product': p.id, 'quantity': q,
                                        'unit': p.sale_uom.id,
                                        'unit_price': prices[p],
                                        'taxes': [('add', [
                                                    t.id for t in
                                                    p.customer_taxes_used])],
                                        } for p, q in lines])],
                        }])
            if state == 'confirmed':
                Sale.quote([sale])
                Sale.confirm([sale])
                invoice, = Sale.invoice_once([sale], post=True)
                return sale.id, invoice.id
            return sale.id, None

        data['a']['sales'] = [
            sale('a', [(plate, 3)]),               # 36.00 incl. VAT
            sale('a', [(teapot, 1), (plate, 2)]),  # 72.00 incl. VAT
            ]
        data['a']['cart'], _ = sale('a', [(teapot, 5)], state='draft')
        data['b']['sales'] = [sale('b', [(teapot, 2)])]  # 96.00
        data['one']['sales'] = [sale('one', [(plate, 1)])]
        data['many']['sales'] = [
            sale('many', [(plate, 1), (teapot, 1)]) for _ in range(MANY)]

        today = pool.get('ir.date').today()
        vouchers = Voucher.create([{
                    'party': data[k]['party'], 'amount': amount,
                    'kind': 'goodwill', 'reason': "Test",
                    'expiry_date': today + dt.timedelta(days=days),
                    } for k, amount, days in [
                    ('a', Decimal('15.00'), 90),
                    ('a', Decimal('7.00'), -1),
                    ('b', Decimal('25.00'), 90)]])
        data['a']['vouchers'] = [v.id for v in vouchers[:2]]
        data['b']['vouchers'] = [vouchers[2].id]
        data['a']['balance'] = Account(data['a']['card']).balance
        data['b']['balance'] = Account(data['b']['card']).balance
        return data

    def browser(self, key='a'):
        browser = Browser()
        response = browser.login(self.data[key]['email'])
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        return browser

    def assertNotFound(self, response):
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertIn("Page introuvable", text(response))

    def test_overview(self):
        "The overview shows the customer's name, points, vouchers, orders"
        a = self.data['a']
        self.assertGreater(a['balance'], 0)
        body = text(self.browser().get('/account'))
        self.assertIn("Bonjour DUPONT Anne", body)
        self.assertIn(f"{a['balance']} points", body)
        self.assertIn("Bons d'achat valables : 1", body)
        self.assertIn("72,00", body)
        self.assertNotIn("96,00", body)
        self.assertNotIn("MARTIN", body)

    def test_orders(self):
        "The list of orders: the confirmed ones, not the cart, not B's"
        browser = self.browser()
        response = browser.get('/account/orders')
        html, body = response.get_data(as_text=True), text(response)
        for sale_id, _ in self.data['a']['sales']:
            self.assertIn(f'/account/order/{sale_id}"', html)
        for sale_id in [self.data['b']['sales'][0][0], self.data['a']['cart']]:
            self.assertNotIn(f'/account/order/{sale_id}"', html)
        self.assertIn("36,00", body)
        self.assertIn("72,00", body)
        self.assertIn("En traitement", body)
        # The cart (240 € incl. VAT) is no order yet
        self.assertNotIn("240,00", body)

    def test_order(self):
        """An order: its delivery address, lines with their amounts incl.
        VAT, its invoice"""
        browser = self.browser()
        sale_id, invoice_id = self.data['a']['sales'][1]
        response = browser.get(f'/account/order/{sale_id}')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        body = text(response)
        self.assertIn("Adresse de livraison", body)
        self.assertIn("a rue des Tilleuls", body)
        self.assertIn("87000", body)
        self.assertIn("Théière", body)
        self.assertIn("48,00", body)  # 40 + 20 % VAT
        self.assertIn("24,00", body)  # 2 plates
        self.assertIn("72,00", body)
        self.assertIn(f'/account/invoice/{invoice_id}.pdf',
            response.get_data(as_text=True))
        # Not a draft (the cart), not another customer's
        self.assertNotFound(browser.get(
                f"/account/order/{self.data['a']['cart']}"))
        self.assertNotFound(browser.get(
                f"/account/order/{self.data['b']['sales'][0][0]}"))

    def test_invoice(self):
        """The posted invoice as a PDF of the portal's invoice report, only
        to its customer; the GET keeps nothing"""
        browser = self.browser()
        _, invoice_id = self.data['a']['sales'][0]
        invoice_url = f'/account/invoice/{invoice_id}.pdf'
        with count_statements() as statements:
            response = browser.get(invoice_url)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.mimetype, 'application/pdf')
        printed = response.data
        self.assertTrue(printed.startswith(b'%PDF-'))
        self.assertGreater(len(printed), 1000)
        self.assertFalse([s for s in statements if s.lstrip().upper()
                .startswith(('INSERT', 'UPDATE', 'DELETE'))])
        with start(readonly=True):
            pool = Pool()
            Invoice = pool.get('account.invoice')
            ActionReport = pool.get('ir.action.report')
            Report = pool.get('bol_air_portal.invoice', type='report')
            invoice = Invoice(invoice_id)
            number = invoice.number
            self.assertTrue(number)
            # Tryton's own (ODT) print was not asked for
            self.assertFalse(invoice.invoice_report_cache)
            # What the PDF was made of: the invoice's number and customer
            action, = ActionReport.search([
                    ('report_name', '=', Report.__name__)])
            html = Report.render(
                action, Report.get_context([invoice], {}, {}))
        self.assertEqual(response.headers['Content-Disposition'],
            f"attachment; filename*=UTF-8''facture-{number}.pdf")
        self.assertIn(number, html)
        self.assertIn("DUPONT Anne", html)
        self.assertIn("a rue des Tilleuls", html)
        self.assertIn("Facture", html)
        self.assertIn("Total TTC", html)
        # The PDF's title (its metadata) names the invoice
        self.assertEqual(pdf_title(printed), f"Facture {number}")
        _, other = self.data['b']['sales'][0]
        self.assertNotFound(browser.get(f'/account/invoice/{other}.pdf'))
        self.assertNotFound(browser.get('/account/invoice/999999.pdf'))

    def test_other_ids(self):
        "Customer B's ids and random ids answer 404 and change nothing"
        b = self.data['b']
        browser = self.browser()
        sale_id, invoice_id = b['sales'][0]
        paths = [f'/account/order/{sale_id}',
            f'/account/invoice/{invoice_id}.pdf',
            f"/account/address/{b['address']}"]
        paths += [f'/account/order/{i}' for i in random.sample(
                range(1, 100000), 20)]
        for path in paths:
            with self.subTest(path=path):
                self.assertNotFound(browser.get(path))
        response = browser.post(f"/account/address/{b['address']}", {
                'street': "volé", 'postal_code': '75000', 'city': "Paris"})
        self.assertNotFound(response)
        with start(readonly=True):
            Address = Pool().get('party.address')
            self.assertEqual(Address(b['address']).city, "Limoges")
        # B's vouchers do not show on A's page
        with start(readonly=True):
            Voucher = Pool().get('bol_air.voucher')
            code = Voucher(b['vouchers'][0]).code
        self.assertNotIn(code, text(browser.get('/account/loyalty')))

    def test_loyalty(self):
        "Card number, balance, history, valid and past vouchers"
        a = self.data['a']
        with start(readonly=True):
            pool = Pool()
            Account = pool.get('bol_air.loyalty.account')
            Voucher = pool.get('bol_air.voucher')
            card = Account(a['card'])
            number = card.number_formatted
            moves = [(m.points, m.origin.number) for m in card.moves]
            valid, expired = [Voucher(i).code for i in a['vouchers']]
        body = text(self.browser().get('/account/loyalty'))
        self.assertIn(number, body)
        self.assertIn(f"{a['balance']} points", body)
        self.assertEqual(len(moves), 2)
        for points, invoice in moves:
            self.assertIn(f"+{points}", body)
            self.assertIn(invoice, body)
        self.assertIn("Achat", body)
        self.assertIn("Facture " + moves[0][1], body)
        valid_part, past_part = body.split("Mes anciens bons d'achat")
        self.assertIn(valid, valid_part)
        self.assertIn("15,00", valid_part)
        self.assertIn(expired, past_part)
        self.assertIn("Expiré", past_part)

    def test_loyalty_join(self):
        """A customer without a card joins the programme from her space:
        one card however many clicks, then her points and vouchers"""
        def create():
            party, _ = create_customer(
                "SANS Carte", 'sans.carte@example.com')
            return party.id
        party_id = run(create)
        browser = Browser()
        self.assertEqual(browser.login('sans.carte@example.com').status_code,
            HTTPStatus.SEE_OTHER)
        body = text(browser.get('/account/loyalty'))
        self.assertIn("Vous n'avez pas encore de carte de fidélité", body)
        self.assertIn("1 point(s) par euro (hors taxes)", body)
        self.assertIn("Rejoindre le programme de fidélité", body)
        for _ in range(2):
            response = browser.post('/account/loyalty/join')
            self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        body = text(follow(browser, response))
        self.assertIn("votre carte est prête", body)
        self.assertNotIn("Rejoindre le programme de fidélité", body)
        with start(readonly=True):
            Account = Pool().get('bol_air.loyalty.account')
            card, = Account.search([('party', '=', party_id)])
            self.assertIn(card.number_formatted, body)
            self.assertIn("0 points", body)
        # A deactivated card: said so, no new card
        with start() as transaction:
            Account = Pool().get('bol_air.loyalty.account')
            Account.write([Account(card.id)], {'active': False})
            transaction.commit()
        body = text(browser.get('/account/loyalty'))
        self.assertIn("est désactivée", body)
        self.assertNotIn("Rejoindre le programme de fidélité", body)
        response = browser.post('/account/loyalty/join')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        with start(readonly=True), inactive_records():
            Account = Pool().get('bol_air.loyalty.account')
            self.assertEqual(
                Account.search_count([('party', '=', party_id)]), 1)

    def test_profile(self):
        "Rectification: French errors keep what was typed, then saved"
        with start() as transaction:
            party, _ = create_customer(
                "LEROY Claire", 'claire.leroy@example.com')
            transaction.commit()
        browser = Browser()
        browser.login('claire.leroy@example.com')
        # A new customer: no card, no order yet
        body = text(browser.get('/account'))
        self.assertIn("Vous n'avez pas encore de carte de fidélité", body)
        self.assertIn("Vous n'avez pas encore de commande", body)
        body = text(browser.get('/account/loyalty'))
        self.assertIn("Vous n'avez pas encore de carte de fidélité", body)
        self.assertIn("Aucun bon d'achat valable", body)
        self.assertIn("Vous n'avez pas encore de commande",
            text(browser.get('/account/orders')))
        response = browser.get('/account/profile')
        self.assertIn('claire.leroy@example.com', text(response))
        self.assertIn('/account/security', response.get_data(as_text=True))

        response = browser.post('/account/profile', {
                'last_name': '', 'first_name': "Clara",
                'phone': "pas un numéro"})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        body = text(response)
        self.assertIn("Indiquez votre nom", body)
        self.assertIn("Indiquez un numéro de téléphone", body)
        html = response.get_data(as_text=True)
        self.assertIn('value="Clara"', html)
        self.assertIn('value="pas un numéro"', html)
        response = browser.post('/account/profile', {
                'last_name': "LEROY", 'civility': 'roi'})
        self.assertIn("Choisissez une civilité", text(response))
        response = browser.post('/account/profile', {
                'last_name': "L" * 101})
        self.assertIn("100 caractères au plus", text(response))
        with start(readonly=True):
            Party = Pool().get('party.party')
            self.assertEqual(Party(party.id).name, "LEROY Claire")

        response = browser.post('/account/profile', {
                'civility': 'mme', 'last_name': "LEROY-BLANC",
                'first_name': "Claire", 'phone': "06 12 34 56 78"})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        body = text(follow(browser, response))
        self.assertIn("Vos coordonnées sont enregistrées", body)
        with start(readonly=True):
            Party = Pool().get('party.party')
            party = Party(party.id)
            self.assertEqual(party.name, "LEROY-BLANC Claire")
            self.assertEqual(party.civility, 'mme')
            self.assertEqual(party.mobile, "+33 6 12 34 56 78")
        # Changing the number, then removing it
        browser.post('/account/profile', {
                'last_name': "LEROY-BLANC", 'phone': "05 55 00 00 00"})
        with start(readonly=True):
            party = Pool().get('party.party')(party.id)
            self.assertEqual(party.phone, "+33 5 55 00 00 00")
            self.assertFalse(party.mobile)
        browser.post('/account/profile', {'last_name': "LEROY-BLANC"})
        with start(readonly=True):
            party = Pool().get('party.party')(party.id)
            self.assertFalse(party.mobile or party.phone)

        # Addresses: add one (with errors first), change it
        response = browser.post('/account/address/new', {
                'street': "3 place de la République", 'city': "Limoges"})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("Indiquez le code postal", text(response))
        self.assertIn("3 place de la République", text(response))
        response = browser.post('/account/address/new', {
                'street': "3 place de la République",
                'postal_code': "87000", 'city': "Limoges"})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        with start(readonly=True):
            Address = Pool().get('party.address')
            address, = Address.search([('party', '=', party.id)])
        self.assertIn("3 place de la République",
            text(browser.get('/account/profile')))
        response = browser.get(f'/account/address/{address.id}')
        self.assertIn('value="87000"', response.get_data(as_text=True))
        response = browser.post(f'/account/address/{address.id}', {
                'street': "4 place de la République",
                'postal_code': "87100", 'city': "Limoges"})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        with start(readonly=True):
            address = Pool().get('party.address')(address.id)
            self.assertEqual(address.postal_code, "87100")
            self.assertEqual(address.street, "4 place de la République")

    def consent_status(self, party_id, code='newsletter'):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        purpose = Purpose.by_code(code)
        return Consent.current_status([party_id], [purpose.id]).get(
            (party_id, purpose.id))

    def test_consents(self):
        "One click gives or withdraws a consent, with its proof"
        a = self.data['a']
        with start(readonly=True):
            pool = Pool()
            Purpose = pool.get('bol_air.gdpr.purpose')
            newsletter = Purpose.by_code('newsletter').id
            contract = Purpose.by_code('customer').id
        browser = self.browser()
        response = browser.get('/account/consents')
        body = text(response)
        self.assertIn("Donner mon accord", body)
        self.assertIn(f'value="{newsletter}"', response.get_data(as_text=True))
        self.assertNotIn(
            f'value="{contract}"', response.get_data(as_text=True))

        headers = {'User-Agent': AGENT}
        environ = {'REMOTE_ADDR': IP}
        response = browser.post('/account/consents', {
                'purpose': newsletter, 'status': 'given'},
            headers=headers, environ_base=environ)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn("Votre consentement est enregistré",
            text(follow(browser, response)))
        # A double click records nothing more
        browser.post('/account/consents', {
                'purpose': newsletter, 'status': 'given'})
        with start(readonly=True):
            pool = Pool()
            Consent = pool.get('bol_air.gdpr.consent')
            Email = pool.get('marketing.email')
            consent, = Consent.search([
                    ('party', '=', a['party']),
                    ('purpose', '=', newsletter)])
            self.assertEqual(consent.status, 'given')
            self.assertEqual(consent.channel, 'portal')
            self.assertEqual(consent.ip_address, IP)
            self.assertEqual(consent.user_agent, AGENT)
            self.assertEqual(consent.web_user.id, a['user'])
            self.assertEqual(consent.text_version,
                consent.purpose.current_text)
            email, = Email.search([('person', '=', a['party'])])
            self.assertEqual(email.email, a['email'])
            self.assertTrue(email.active)
        self.assertIn("Retirer mon accord",
            text(browser.get('/account/consents')))

        response = browser.post('/account/consents', {
                'purpose': newsletter, 'status': 'withdrawn'},
            headers=headers, environ_base=environ)
        self.assertIn("Votre consentement est retiré",
            text(follow(browser, response)))
        with start(readonly=True):
            pool = Pool()
            Consent = pool.get('bol_air.gdpr.consent')
            Email = pool.get('marketing.email')
            self.assertEqual(self.consent_status(a['party']), 'withdrawn')
            latest = Consent.search([
                    ('party', '=', a['party']),
                    ('purpose', '=', newsletter)], limit=1)[0]
            self.assertEqual(latest.ip_address, IP)
            self.assertEqual(latest.web_user.id, a['user'])
            # Off the newsletter at once
            self.assertFalse(Email.search([
                        ('person', '=', a['party']),
                        ('active', '=', True)]))

        # Not a purpose of consent, not a purpose, not a status: 404
        for values in [{'purpose': contract, 'status': 'withdrawn'},
                {'purpose': 'x', 'status': 'given'},
                {'purpose': newsletter, 'status': 'maybe'}]:
            self.assertNotFound(browser.post('/account/consents', values))
        with start(readonly=True):
            self.assertIsNone(self.consent_status(a['party'], 'customer'))
        # Without the token, refused
        response = browser.post('/account/consents', {
                'purpose': newsletter, 'status': 'given'}, csrf=False)
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        with start(readonly=True):
            self.assertEqual(self.consent_status(a['party']), 'withdrawn')

    def test_email_change_newsletter(self):
        """A confirmed new e-mail replaces the former one on the customer's
        contact e-mail and on her newsletter subscription, still active,
        also where the new address was on the list already"""
        with start(readonly=True):
            pool = Pool()
            newsletter = pool.get('bol_air.gdpr.purpose').by_code(
                'newsletter').id
        for n, already in enumerate([False, True]):
            old, new = f'avant{n}@example.com', f'apres{n}@example.com'

            def create():
                party, _ = create_customer(f"CHANGE Adresse {n}", old)
                return party.id
            party_id = run(create)
            browser = Browser()
            browser.login(old)
            browser.post('/account/consents', {
                    'purpose': newsletter, 'status': 'given'})
            with start() as transaction:
                Email = Pool().get('marketing.email')
                email, = Email.search([('person', '=', party_id)])
                self.assertEqual(email.email, old)
                if already:
                    Email.copy([email], {'email': new, 'active': False})
                transaction.commit()
            with patch('bol_air_portal.user.send_message_transactional'):
                response = browser.post('/account/security', {
                        'action': 'email', 'current_password': PASSWORD,
                        'new_email': new})
            self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
            with start(readonly=True):
                user, = Pool().get('web.user').search(
                    [('party', '=', party_id)])
                token = user.portal_new_email_token
            with patch('bol_air_portal.user.send_message_transactional'):
                response = browser.post(
                    '/account/email/confirm', {'token': token})
            self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
            with start(readonly=True):
                pool = Pool()
                Party = pool.get('party.party')
                Email = pool.get('marketing.email')
                with inactive_records():
                    emails = Email.search([('person', '=', party_id)])
                self.assertEqual([(e.email, e.active) for e in emails],
                    [(new, True)])
                self.assertEqual([m.value
                        for m in Party(party_id).contact_mechanisms
                        if m.type == 'email'], [new])

    def test_data_export(self):
        "The access export: the customer's data, never another's"
        browser = self.browser()
        self.assertIn(
            "Télécharger (tableur)", text(browser.get('/account/data')))
        response = browser.post('/account/data/export', {'format': 'json'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(response.mimetype, 'application/json')
        self.assertIn('attachment', response.headers['Content-Disposition'])
        content = response.get_data(as_text=True)
        data = json.loads(content)
        self.assertEqual(
            data['sections']['identity'][0]['name'], "DUPONT Anne")
        self.assertIn("DUPONT", content)
        self.assertNotIn("MARTIN", content)
        self.assertNotIn("berthe", content)

        response = browser.post('/account/data/export', {'format': 'xlsx'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn('.xlsx', response.headers['Content-Disposition'])
        with zipfile.ZipFile(io.BytesIO(response.data)) as workbook:
            strings = b''.join(workbook.read(n) for n in workbook.namelist()
                if n.endswith('.xml')).decode('utf-8')
        self.assertIn("DUPONT", strings)
        self.assertNotIn("MARTIN", strings)

        self.assertNotFound(
            browser.post('/account/data/export', {'format': 'csv'}))
        # A GET of the export does not exist
        self.assertNotFound(browser.get('/account/data/export'))

    def test_erasure_request(self):
        "Asking for erasure creates one request for the DPO, erases nothing"
        a = self.data['a']
        browser = self.browser()
        response = browser.post('/account/data/erasure')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Votre demande est enregistrée", text(response))
        response = browser.post('/account/data/erasure')
        self.assertIn("déjà enregistrée", text(response))
        self.assertIn("déjà enregistrée", text(browser.get('/account/data')))
        with start(readonly=True):
            pool = Pool()
            Request = pool.get('bol_air.gdpr.request')
            Party = pool.get('party.party')
            request, = Request.search([('party', '=', a['party'])])
            self.assertEqual(request.kind, 'erasure')
            self.assertEqual(request.state, 'received')
            self.assertEqual(request.channel, "Espace client")
            self.assertEqual(Party(a['party']).name, "DUPONT Anne")
            self.assertFalse(Request.search([
                        ('party', '=', self.data['b']['party'])]))
        # The request answered, a new one can be made
        with start() as transaction:
            Request = Pool().get('bol_air.gdpr.request')
            request, = Request.search([('party', '=', a['party'])])
            Request.write([request], {'outcome': "Test"})
            Request.refuse([request])
            transaction.commit()
        self.assertIn("Demander l'effacement de mes données",
            text(browser.get('/account/data')))

    def test_host(self):
        "I would like to host: one lead for the customer's ambassador"
        a, b = self.data['a'], self.data['b']
        browser = self.browser()
        self.assertIn("Quand cela vous conviendrait",
            text(browser.get('/account/host')))
        response = browser.post('/account/host', {
                'period': '', 'message': "Avec mes voisines"})
        self.assertEqual(response.status_code,
            HTTPStatus.UNPROCESSABLE_ENTITY)
        self.assertIn("Indiquez-nous quand", text(response))
        self.assertIn("Avec mes voisines", text(response))
        response = browser.post('/account/host', {
                'period': "x" * 101})
        self.assertIn("100 caractères au plus", text(response))
        response = browser.post('/account/host', {
                'period': "Un samedi en mars", 'message': "x" * 2001})
        self.assertIn("2000 caractères au plus", text(response))
        with start(readonly=True):
            Lead = Pool().get('bol_air.lead')
            self.assertFalse(Lead.search([('party', '=', a['party'])]))

        response = browser.post('/account/host', {
                'period': "Un samedi en mars",
                'message': "Avec mes voisines"})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Votre ambassadrice vous appellera", text(response))
        response = browser.post('/account/host', {
                'period': "En avril"})
        self.assertIn("déjà enregistrée", text(response))
        self.assertIn("déjà enregistrée", text(browser.get('/account/host')))
        with start(readonly=True):
            pool = Pool()
            Lead = pool.get('bol_air.lead')
            maryse, = pool.get('res.user').search([('login', '=', 'maryse')])
            lead, = Lead.search([('party', '=', a['party'])])
            self.assertEqual(lead.source, 'portal')
            self.assertEqual(lead.state, 'new')
            self.assertEqual(lead.ambassador, maryse.employee)
            self.assertIn("Un samedi en mars", lead.comment)
            self.assertIn("Avec mes voisines", lead.comment)
            self.assertFalse(Lead.search([('party', '=', b['party'])]))

    def test_statement_count(self):
        "Lists send as many statements for 1 record as for many"
        for path in ['/account/orders', '/account/loyalty', '/account']:
            counts = {}
            for key in ['one', 'many']:
                browser = self.browser(key)
                browser.get(path)  # caches warmed
                with count_statements() as statements:
                    response = browser.get(path)
                self.assertEqual(response.status_code, HTTPStatus.OK)
                counts[key] = len(statements)
            with self.subTest(path=path):
                self.assertGreater(counts['one'], 3)
                self.assertEqual(counts['one'], counts['many'])

    def test_login_required(self):
        "Every page of the space asks to log in first"
        browser = Browser()
        for path in ['/account/orders', '/account/loyalty',
                '/account/profile', '/account/consents', '/account/data',
                '/account/host', '/account/order/1',
                '/account/invoice/1.pdf']:
            with self.subTest(path=path):
                response = browser.get(path)
                self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
                self.assertIn('/portal/login', response.location)


del RouteTestCase
