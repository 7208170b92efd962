# This file is part of bol_air_gdpr.
import datetime as dt
from unittest.mock import patch

from trytond.model.exceptions import (
    DomainValidationError, RequiredValidationError)
from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.party.tests import (
    PartyCheckEraseMixin, PartyCheckReplaceMixin)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction, inactive_records

from bol_air_crm.tests.querycount import count_statements

from ..exceptions import ConsentAccessError, PurposeTextError, RequestError

NOW = dt.datetime(2026, 11, 23, 10, 0)


class BolAirGdprTestCase(
        PartyCheckEraseMixin, PartyCheckReplaceMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test Bol d'Air GDPR module"
    module = 'bol_air_gdpr'
    extras = ['bol_air_loyalty']

    def _parties(self, count, prefix="P"):
        Party = Pool().get('party.party')
        return Party.create([{'name': f"{prefix}{i}"} for i in range(count)])

    def _entries(self, *entries):
        "Create (party, purpose code, status, minutes after NOW) entries"
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        values = []
        for party, code, status, minutes in entries:
            purpose = Purpose.by_code(code)
            values.append({
                    'party': party.id, 'purpose': purpose.id,
                    'status': status, 'channel': 'phone',
                    'text_version': purpose.current_text.id,
                    'date': NOW + dt.timedelta(minutes=minutes),
                    })
        return Consent.create(values)

    @with_transaction()
    def test_latest_entry_wins(self):
        "The current status is the latest entry, the last one at a tie"
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        Party = pool.get('party.party')
        anne, berthe, claire = self._parties(3)
        self._entries(
            (anne, 'newsletter', 'given', 0),
            (anne, 'newsletter', 'withdrawn', 5),
            (berthe, 'newsletter', 'withdrawn', 0),
            (berthe, 'newsletter', 'given', 5),
            # Same second: the entry recorded last counts
            (claire, 'newsletter', 'given', 0),
            (claire, 'newsletter', 'withdrawn', 0),
            (claire, 'sms', 'given', 0))
        newsletter = Purpose.by_code('newsletter')
        sms = Purpose.by_code('sms')
        self.assertEqual(
            Party.search([('consent_purposes', '=', newsletter.id)]),
            [berthe])
        self.assertEqual(
            Party.search([('consent_purposes.code', '=', 'sms')]), [claire])
        self.assertEqual(
            Consent.current_status(
                [anne.id, berthe.id, claire.id], [newsletter.id, sms.id]),
            {(anne.id, newsletter.id): 'withdrawn',
                (berthe.id, newsletter.id): 'given',
                (claire.id, newsletter.id): 'withdrawn',
                (claire.id, sms.id): 'given'})

    @with_transaction()
    def test_history_only_altered_by_administrator(self):
        "Without access checks too, only an administrator alters history"
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        User = pool.get('res.user')
        anne, = self._parties(1)
        consent, = self._entries((anne, 'newsletter', 'given', 0))
        clerk, = User.create([{'name': "Employé", 'login': 'clerk'}])
        with Transaction().set_user(clerk.id):
            with self.assertRaises(ConsentAccessError):
                Consent.write([Consent(consent.id)], {'status': 'withdrawn'})
            with self.assertRaises(ConsentAccessError):
                Consent.delete([Consent(consent.id)])
        with Transaction().set_user(1):  # admin
            Consent.write([Consent(consent.id)], {'comment': "Corrigé"})
        self.assertEqual(Consent(consent.id).comment, "Corrigé")

    @with_transaction()
    def test_wording_frozen(self):
        "A wording's text is never rewritten; a new one is a new version"
        pool = Pool()
        Text = pool.get('bol_air.gdpr.purpose.text')
        Purpose = pool.get('bol_air.gdpr.purpose')
        newsletter = Purpose.by_code('newsletter')
        first = newsletter.current_text
        with self.assertRaises(PurposeTextError):
            Text.write([first], {'text': "Autre"})
        with self.assertRaises(PurposeTextError):
            Text.delete([first])
        second, = Text.create([{'purpose': newsletter.id, 'text': "V2"}])
        self.assertEqual(second.version, 2)
        self.assertEqual(second.hash, Text.digest("V2"))
        self.assertEqual(Purpose(newsletter.id).current_text, second)

    @with_transaction()
    def test_consent_purposes_statement_count(self):
        "Reading the consents of 1 or 40 persons takes the same statements"
        pool = Pool()
        Party = pool.get('party.party')
        counts = []
        for count in [1, 40]:
            parties = self._parties(count, prefix=f"N{count}-")
            self._entries(*[(p, 'newsletter', 'given', 0) for p in parties])
            with count_statements() as counter:
                rows = Party.read(
                    [p.id for p in parties], ['consent_purposes'])
            self.assertTrue(all(len(r['consent_purposes']) == 1
                    for r in rows))
            counts.append(counter.count)
        self.assertEqual(counts[0], counts[1], counts)

    @with_transaction()
    def test_request_due_date_and_extension(self):
        "One month to answer, two more at most once the person was told"
        pool = Pool()
        Request = pool.get('bol_air.gdpr.request')
        anne, = self._parties(1)
        received = dt.date(2026, 9, 30)
        request, = Request.create([{
                    'party': anne.id, 'kind': 'access',
                    'received_date': received}])
        self.assertEqual(request.due_date, dt.date(2026, 10, 30))
        # The date the person was told is required with an extension
        with self.assertRaises(RequiredValidationError):
            Request.write([request], {'extension_months': 2})
        Request.write([request], {
                'extension_months': 2,
                'extension_notified': dt.date(2026, 10, 20)})
        self.assertEqual(Request(request.id).due_date, dt.date(2026, 12, 30))
        with self.assertRaises(DomainValidationError):
            Request.write([request], {'extension_months': 3})

    @with_transaction()
    def test_overdue_requests(self):
        "The overdue list holds the open requests past their due date"
        pool = Pool()
        Request = pool.get('bol_air.gdpr.request')
        anne, = self._parties(1)
        today = dt.date(2026, 11, 23)
        late, extended, recent, closed = Request.create([{
                    'party': anne.id, 'kind': kind,
                    'received_date': received,
                    'extension_months': extension,
                    'extension_notified': received if extension else None,
                    } for kind, received, extension in [
                    ('access', dt.date(2026, 10, 20), 0),
                    ('erasure', dt.date(2026, 10, 1), 2),
                    ('opposition', dt.date(2026, 11, 1), 0),
                    ('portability', dt.date(2026, 9, 1), 0),
                    ]])
        Request.write([closed], {
                'state': 'done', 'outcome': "Fichier envoyé"})
        self.assertEqual(Request.search([
                    ('state', 'not in', ['done', 'refused']),
                    ('due_date', '<', today),
                    ]), [late])

    @with_transaction()
    def test_request_workflow_checks(self):
        "Identity is checked before handling, an outcome before closing"
        pool = Pool()
        Request = pool.get('bol_air.gdpr.request')
        anne, = self._parties(1)
        request, = Request.create([{'party': anne.id, 'kind': 'erasure'}])
        with self.assertRaises(RequestError):
            Request.start([request])
        Request.write([request], {
                'identity_checked': True,
                'identity_check': "Rappelée au numéro du fichier"})
        Request.start([request])
        with self.assertRaises(RequestError):
            Request.done([request])
        Request.write([request], {'outcome': "Effacée le jour même"})
        Request.done([request])
        request = Request(request.id)
        self.assertEqual(request.state, 'done')
        self.assertEqual(
            request.closed_date, Pool().get('ir.date').today())

    @with_transaction()
    def test_register_export(self):
        "The register exports as a workbook, formulas kept as text"
        import io

        import openpyxl
        pool = Pool()
        Purpose = pool.get('bol_air.gdpr.purpose')
        Export = pool.get('bol_air.gdpr.register.export', type='wizard')
        Purpose.create([{
                    'code': 'test', 'name': "Test",
                    'legal_basis': 'consent',
                    'description': '=HYPERLINK("http://evil","x")',
                    }])
        session_id, _, _ = Export.create()
        export = Export(session_id)
        export.transition_start()
        self.assertEqual(export.result.count, 9)
        self.assertTrue(export.result.filename.endswith('.xlsx'))
        sheet = openpyxl.load_workbook(
            io.BytesIO(export.result.file)).active
        rows = list(sheet.iter_rows(values_only=True))
        header, *lines = rows
        self.assertEqual(header[:3], ("Name", "Code", "Legal Basis"))
        by_code = {r[1]: r for r in lines}
        self.assertEqual(len(by_code), 9)
        newsletter = by_code['newsletter']
        self.assertEqual(newsletter[2], "Consent")
        text = Purpose.by_code('newsletter').current_text
        self.assertEqual(newsletter[8:], (text.text, 1, text.hash))
        self.assertEqual(
            by_code['test'][3], '\'=HYPERLINK("http://evil","x")')

    @with_transaction()
    def test_erase_keeps_entries_not_the_proof_details(self):
        "Erasing a person keeps the consent entries, not what identifies her"
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Request = pool.get('bol_air.gdpr.request')
        Party = pool.get('party.party')
        Erase = pool.get('party.erase', type='wizard')
        anne, = self._parties(1)
        consent, = self._entries((anne, 'newsletter', 'given', 0))
        Consent.write([consent], {
                'ip_address': '203.0.113.7', 'user_agent': 'Firefox',
                'comment': "Anne Dupont, 06 12 34 56 78"})
        request, = Request.create([{
                'party': anne.id, 'kind': 'erasure',
                'details': "Anne Dupont demande l'effacement",
                'identity_check': "Rappelée au 06 12 34 56 78"}])
        Party.write([anne], {'active': False})
        session_id, _, _ = Erase.create()
        erase = Erase(session_id)
        erase.ask.party = anne
        erase.transition_erase()
        # Read from the database: the erasure writes it in SQL
        consent, = Consent.read([consent.id], [
                'status', 'purpose.code', 'ip_address', 'user_agent',
                'comment'])
        self.assertEqual(
            (consent['status'], consent['purpose.']['code']),
            ('given', 'newsletter'))
        self.assertEqual(
            (consent['ip_address'], consent['user_agent'],
                consent['comment']),
            (None, None, None))
        request, = Request.read(
            [request.id], ['kind', 'details', 'identity_check'])
        self.assertEqual(
            (request['kind'], request['details'], request['identity_check']),
            ('erasure', None, None))

    def _access_person(self, company, count=1, prefix="DUPONT"):
        """A person with count of each: order, consent, interaction, meeting
        as host and as guest; with an address, an e-mail and a phone"""
        from decimal import Decimal

        from trytond.modules.company.tests import create_employee
        pool = Pool()
        Party = pool.get('party.party')
        Meeting = pool.get('bol_air.meeting')
        Interaction = pool.get('bol_air.interaction')
        Sale = pool.get('sale.sale')
        ambassador = create_employee(company, name="Maryse Brun")
        person, lucie = Party.create([{
                    'crm_customer': True, 'last_name': prefix,
                    'first_name': "Anne", 'birth_date': dt.date(1980, 5, 17),
                    'addresses': [('create', [{
                                    'street': "12 rue des Lilas",
                                    'postal_code': '69003', 'city': "Lyon",
                                    }])],
                    'contact_mechanisms': [('create', [
                                {'type': 'email',
                                    'value': f'{prefix.lower()}@example.com'},
                                {'type': 'mobile', 'value': '+33612345678'},
                                ])],
                    }, {
                    'crm_customer': True, 'last_name': "MARTIN",
                    'first_name': "Lucie",
                    }])
        address, = person.addresses
        Meeting.create([{
                    'host': person.id, 'ambassador': ambassador.id,
                    'address': address.id, 'notes': "Salon",
                    } for _ in range(count)])
        Meeting.create([{
                    'host': lucie.id, 'ambassador': ambassador.id,
                    'guests': [('create', [{'party': person.id}])],
                    } for _ in range(count)])
        Interaction.create([{
                    'party': person.id, 'summary': f"Appel {i}",
                    'channel': 'phone', 'employee': ambassador.id,
                    } for i in range(count)])
        consents = self._entries(*[
                (person, 'newsletter', 'given', i) for i in range(count)])
        Sale.create([{
                    'party': person.id, 'invoice_address': address.id,
                    'shipment_address': address.id,
                    'reference': f"REF{i}",
                    'lines': [('create', [{
                                    'type': 'line', 'description': "Assiette",
                                    'quantity': 6, 'unit_price': Decimal('10'),
                                    }])],
                    } for i in range(count)])
        return person, consents

    @with_transaction()
    def test_access_export_content(self):
        "The access export holds everything about the person, no secret"
        import io
        import json
        import zipfile
        from decimal import Decimal

        import openpyxl

        from trytond.modules.company.tests import create_company, set_company
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Request = pool.get('bol_air.gdpr.request')
        WebUser = pool.get('web.user')
        Card = pool.get('bol_air.loyalty.account')
        Move = pool.get('bol_air.loyalty.move')
        Voucher = pool.get('bol_air.voucher')
        Lang = pool.get('ir.lang')
        EmailList = pool.get('marketing.email.list')
        Email = pool.get('marketing.email')
        company = create_company()
        with set_company(company):
            anne, (consent,) = self._access_person(company)
            formula = '=HYPERLINK("http://evil.example","clic")'
            Consent.write([consent], {
                    'ip_address': '203.0.113.7', 'user_agent': 'Firefox/140',
                    'comment': formula})
            Request.create([{'party': anne.id, 'kind': 'access'}])
            password = 'Tr3s-secret-Passw0rd'
            user, = WebUser.create([{
                        'email': 'dupont@example.com', 'party': anne.id,
                        'password': password}])
            password_hash = WebUser(user.id).password_hash
            self.assertTrue(password_hash)
            card, = Card.create([{'party': anne.id}])
            Move.create([{
                        'account': card.id, 'points': 40,
                        'kind': 'correction', 'reason': "Geste"}])
            voucher, = Voucher.create([{
                        'party': anne.id, 'amount': Decimal(5),
                        'kind': 'goodwill', 'reason': "Retard"}])

            english, = Lang.search([('code', '=', 'en')])
            newsletter, = EmailList.create([{
                        'name': "La lettre du Bol d'Air",
                        'language': english.id}])
            Email.create([{
                        'email': email, 'list_': newsletter.id,
                        'active': active,
                        } for email, active in [
                        ('Dupont@example.com', True),
                        ('someone.else@example.com', False)]])

            json_file, xlsx_file = anne.gdpr_access_files()

        data = json.loads(json_file.decode('utf-8'))
        self.assertEqual(data['person'], anne.code)
        sections = data['sections']
        self.assertEqual(list(sections), [
                'identity', 'addresses', 'contact_mechanisms', 'identifiers',
                'orders', 'order_lines', 'invoices', 'meetings_hosted',
                'meetings_guest', 'interactions', 'consents', 'requests',
                'marketing_emails', 'web_users', 'host_leads', 'calls',
                'loyalty_cards',
                'loyalty_moves', 'vouchers', 'voucher_uses'])
        identity, = sections['identity']
        self.assertEqual(
            (identity['last_name'], identity['birth_date'],
                identity['civility'], identity['host_status']),
            ("DUPONT", '1980-05-17', None, "Not a host"))
        self.assertEqual(
            [a['city'] for a in sections['addresses']], ["Lyon"])
        self.assertEqual(
            sorted((m['type'], m['value'])
                for m in sections['contact_mechanisms']),
            [("Email", 'dupont@example.com'),
                ("Mobile", '+33 6 12 34 56 78')])
        order, = sections['orders']
        self.assertEqual(
            (order['reference'], order['state'], order['total_amount']),
            ("REF0", "Draft", '60.00'))
        line, = sections['order_lines']
        self.assertEqual(
            (line['description'], line['quantity'], line['amount']),
            ("Assiette", 6.0, '60.00'))
        self.assertEqual(sections['invoices'], [])
        self.assertEqual(len(sections['meetings_hosted']), 1)
        self.assertEqual(sections['meetings_hosted'][0]['notes'], "Salon")
        guest, = sections['meetings_guest']
        self.assertEqual(guest['meeting_state'], "Draft")
        self.assertEqual(
            [i['summary'] for i in sections['interactions']], ["Appel 0"])
        entry, = sections['consents']
        self.assertEqual(
            (entry['purpose'], entry['status'], entry['ip_address'],
                entry['user_agent'], entry['comment'], entry['date']),
            ("Newsletter by E-mail", "Given", '203.0.113.7', 'Firefox/140',
                formula, '2026-11-23T10:00:00+00:00'))
        self.assertEqual(entry['text_version'], "Newsletter by E-mail v1")
        self.assertEqual(
            [r['kind'] for r in sections['requests']], ["Access"])
        # Her subscriptions, not the stranger's
        self.assertIn(
            {'email': 'dupont@example.com',
                'list_': "La lettre du Bol d'Air", 'active': True},
            [{k: e[k] for k in ['email', 'list_', 'active']}
                for e in sections['marketing_emails']])
        self.assertEqual(
            {e['email'] for e in sections['marketing_emails']},
            {'dupont@example.com'})
        self.assertIs(sections['web_users'][0]['active'], True)
        self.assertEqual(sections['web_users'], [{
                    'email': 'dupont@example.com', 'email_valid': False,
                    'active': True,
                    'create_date': sections['web_users'][0]['create_date'],
                    }])
        card_row, = sections['loyalty_cards']
        self.assertEqual(
            (card_row['number'], card_row['balance']), (card.number, 40))
        self.assertEqual(
            [(m['kind'], m['points']) for m in sections['loyalty_moves']],
            [("Correction", 40)])
        voucher_row, = sections['vouchers']
        self.assertEqual(
            (voucher_row['code'], voucher_row['amount']),
            (voucher.code, '5.00'))

        workbook = openpyxl.load_workbook(io.BytesIO(xlsx_file))
        self.assertEqual(workbook.sheetnames, [
                "Identity", "Addresses", "Contact Mechanisms", "Identifiers",
                "Orders", "Order Lines", "Invoices", "Meetings Hosted",
                "Meetings as Guest", "Interactions", "Consents",
                "Data-Subject Requests", "Newsletter Subscriptions",
                "Portal Accounts", "Host Leads", "Phone Calls",
                "Loyalty Card", "Loyalty Points", "Vouchers", "Voucher Uses"])
        header, *rows = workbook["Consents"].iter_rows(values_only=True)
        self.assertEqual(header[:3], ("Date", "Purpose", "Status"))
        row = dict(zip(header, rows[0]))
        self.assertEqual(row["IP Address"], '203.0.113.7')
        # A formula comes out as text
        self.assertEqual(row["Comment"], "'" + formula)
        comment = workbook["Consents"].cell(
            row=2, column=header.index("Comment") + 1)
        self.assertEqual(comment.data_type, 's')
        header, *rows = workbook["Orders"].iter_rows(values_only=True)
        self.assertEqual(dict(zip(header, rows[0]))["Total"], 60)
        # An empty category shows its header
        self.assertEqual(
            len(list(workbook["Invoices"].iter_rows(values_only=True))), 1)

        with zipfile.ZipFile(io.BytesIO(xlsx_file)) as archive:
            xml = b''.join(archive.read(n) for n in archive.namelist())
        for secret in [password_hash, password]:
            self.assertNotIn(secret.encode(), json_file)
            self.assertNotIn(secret.encode(), xml)

    @with_transaction()
    def test_access_export_statement_count(self):
        "The access export takes the same statements for 1 or 20 of each"
        from trytond.modules.company.tests import create_company, set_company
        company = create_company()
        with set_company(company):
            warm_up, _ = self._access_person(company, prefix="WARM")
            warm_up.gdpr_access_files()
            counts = []
            for count in [1, 20]:
                person, _ = self._access_person(
                    company, count=count, prefix=f"N{count}")
                with count_statements() as counter:
                    sections = person.gdpr_access_sections()
                counts.append(counter.count)
                sizes = {s.key: len(s.rows) for s in sections}
                for key in ['orders', 'order_lines', 'consents',
                        'interactions', 'meetings_hosted', 'meetings_guest']:
                    self.assertEqual(sizes[key], count, key)
        self.assertEqual(counts[0], counts[1], counts)

    @with_transaction()
    def test_access_export_wizard_dpo_only(self):
        "Only the DPO runs the access export, which names its two files"
        from trytond.model.exceptions import AccessError
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        Export = pool.get('bol_air.gdpr.access_export', type='wizard')
        anne, = Party.create([{
                    'crm_customer': True, 'last_name': "DUPONT",
                    'first_name': "Anne"}])
        clerk, = User.create([{'name': "Employé", 'login': 'clerk'}])
        context = {
            'active_model': 'party.party', 'active_id': anne.id,
            'active_ids': [anne.id]}
        with Transaction().set_context(context):
            with Transaction().set_user(clerk.id):
                with self.assertRaises(AccessError):
                    Export.check_access()
            with Transaction().set_user(1):  # admin, in the DPO group
                Export.check_access()
                session_id, _, _ = Export.create()
                export = Export(session_id)
                self.assertEqual(export.transition_start(), 'result')
                result = export.default_result(
                    ['party', 'json_filename', 'xlsx_filename', 'json_file'])
        self.assertEqual(result['party'], anne.id)
        self.assertEqual(
            (result['json_filename'], result['xlsx_filename']),
            (f'personal-data-{anne.code}.json',
                f'personal-data-{anne.code}.xlsx'))
        self.assertIn(b'"DUPONT"', result['json_file'])

    def test_sheet_title(self):
        "Sheet titles are valid, at most 31 characters and unique"
        from ..access import sheet_title
        used = set()
        self.assertEqual(sheet_title("Orders", used), "Orders")
        self.assertEqual(sheet_title("orders", used), "orders (2)")
        self.assertEqual(sheet_title("A/B: [x]?", used), "A B   x")
        long = "Rencontres en tant qu'invitée ou hôtesse"
        first, second = sheet_title(long, used), sheet_title(long, used)
        self.assertEqual(first, long[:31].strip())
        self.assertEqual(len(second), 31)
        self.assertTrue(second.endswith(" (2)"))
        self.assertEqual(sheet_title("", used), "-")

    # Data retention: "today" is moved to 2029-06-10; 36 months earlier is
    # 2026-06-10, the last day of contact still kept
    RETENTION_TODAY = dt.date(2029, 6, 10)

    def _retention_setup(self):
        "A company and its context; return the company"
        from trytond.modules.company.tests import create_company
        company = create_company()
        return company

    def _prospects(self, *created, prefix="PROSPECT"):
        "Prospects (crm customers) created on the dates"
        pool = Pool()
        Party = pool.get('party.party')
        parties = Party.create([{
                    'crm_customer': True, 'last_name': f"{prefix}{i}",
                    'first_name': "Anne",
                    'contact_mechanisms': [('create', [{
                                    'type': 'email',
                                    'value': f'{prefix}{i}@Example.com',
                                    }])],
                    } for i in range(len(created))])
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        for record, date in zip(parties, created):
            cursor.execute(*party.update(
                    [party.create_date],
                    [dt.datetime.combine(date, dt.time(9, 30))],
                    where=party.id == record.id))
        return parties

    def _purchases(self, company, *purchases, state='confirmed'):
        "(party, sale date) orders in state, written as the workflow would"
        pool = Pool()
        Sale = pool.get('sale.sale')
        Address = pool.get('party.address')
        addresses = Address.create([{'party': p.id} for p, _ in purchases])
        sales = Sale.create([{
                    'company': company.id, 'party': party.id,
                    'invoice_address': address.id,
                    'shipment_address': address.id,
                    } for (party, _), address in zip(purchases, addresses)])
        sale = Sale.__table__()
        cursor = Transaction().connection.cursor()
        for record, (_, date) in zip(sales, purchases):
            cursor.execute(*sale.update(
                    [sale.state, sale.sale_date], [state, date],
                    where=sale.id == record.id))
        return sales

    def _consents(self, *entries):
        "(party, purpose code, status, channel, date) consent entries"
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        values = []
        for party, code, status, channel, date in entries:
            purpose = Purpose.by_code(code)
            values.append({
                    'party': party.id, 'purpose': purpose.id,
                    'status': status, 'channel': channel,
                    'text_version': (
                        purpose.current_text.id if status == 'given'
                        else None),
                    'date': dt.datetime.combine(date, dt.time(10)),
                    })
        return Consent.create(values)

    @with_transaction()
    def test_retention_prospect_3_years(self):
        "A prospect is erased 3 years + 1 day after her last contact only"
        from trytond.modules.company.tests import set_company
        pool = Pool()
        Party = pool.get('party.party')
        Retention = pool.get('bol_air.gdpr.retention')
        company = self._retention_setup()
        with set_company(company):
            over, under, exact = self._prospects(
                dt.date(2026, 6, 9), dt.date(2026, 6, 11),
                dt.date(2026, 6, 10))
            report = Retention.run(self.RETENTION_TODAY)
        over, under, exact = Party.browse([over.id, under.id, exact.id])
        with inactive_records():
            over = Party(over.id)
            self.assertFalse(over.active)
            self.assertIsNone(over.name)
            self.assertIsNone(over.last_name)
            self.assertEqual(
                [m.value for m in over.contact_mechanisms], ['****'])
        self.assertTrue(under.active and exact.active)
        self.assertEqual(under.last_name, "PROSPECT1")
        self.assertEqual(report.date, self.RETENTION_TODAY)
        self.assertEqual(report.prospects_erased, 1)
        self.assertEqual(report.consents_lapsed, 0)
        self.assertEqual(report.details.splitlines(), [
                f"{over.code}: prospect erased (last contact from them on "
                "2026-06-09)."])

    @with_transaction()
    def test_retention_prospect_contact_from_them(self):
        "Only a contact from the prospect restarts the retention period"
        from trytond.modules.company.tests import set_company
        pool = Pool()
        Party = pool.get('party.party')
        Interaction = pool.get('bol_air.interaction')
        Meeting = pool.get('bol_air.meeting')
        Retention = pool.get('bol_air.gdpr.retention')
        company = self._retention_setup()
        old = dt.date(2020, 1, 15)
        with set_company(company):
            (called, called_us, guest, absent, host, portal,
                phoned) = self._prospects(*[old] * 7)
            Interaction.create([{
                        'party': called.id, 'date': dt.date(2028, 1, 10),
                        'summary': "Relance", 'initiative': 'us',
                        }, {
                        'party': called_us.id, 'date': dt.date(2027, 3, 1),
                        'summary': "Demande le catalogue",
                        'channel': 'email', 'initiative': 'customer',
                        }])
            hostess, = self._prospects(old, prefix="HOST")
            Meeting.create([{
                        'host': hostess.id,
                        'date': dt.datetime(2027, 5, 4, 14),
                        'guests': [('create', [{
                                        'party': guest.id,
                                        'attended': True,
                                        }, {
                                        'party': absent.id,
                                        'attended': False,
                                        }])],
                        }, {
                        # She agreed to host, the meeting is still planned
                        'host': host.id,
                        'date': dt.datetime(2027, 9, 1, 14),
                        }])
            self._consents(
                (portal, 'newsletter', 'given', 'portal',
                    dt.date(2027, 2, 2)),
                # Our call: not a contact from her
                (phoned, 'newsletter', 'given', 'phone',
                    dt.date(2027, 2, 2)))
            report = Retention.run(self.RETENTION_TODAY)
        erased = {called.id, absent.id, phoned.id}
        with inactive_records():
            for party in Party.browse(
                    [called.id, called_us.id, guest.id, absent.id, host.id,
                        portal.id, phoned.id, hostess.id]):
                self.assertEqual(
                    party.active, party.id not in erased, party.code)
        self.assertEqual(report.prospects_erased, 3)
        # What she said is erased with her, the contact is still counted
        self.assertEqual(
            [i.summary for i in Interaction.search(
                    [('party', '=', called.id)])], ['****'])

    @with_transaction()
    def test_retention_customer_never_erased(self):
        "A customer is never erased by the prospect rule"
        from trytond.modules.company.tests import set_company
        pool = Pool()
        Party = pool.get('party.party')
        Meeting = pool.get('bol_air.meeting')
        Retention = pool.get('bol_air.gdpr.retention')
        company = self._retention_setup()
        old = dt.date(2020, 1, 15)
        with set_company(company):
            buyer, cancelled, host, employee = self._prospects(*[old] * 4)
            self._purchases(company, (buyer, old))
            self._purchases(company, (cancelled, old), state='cancelled')
            Meeting.create([{
                        'host': host.id, 'date': dt.datetime(2020, 2, 1, 14),
                        }])
            meeting = Meeting.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*meeting.update(
                    [meeting.state], ['closed'],
                    where=meeting.host == host.id))
            Pool().get('company.employee').create([{
                        'party': employee.id, 'company': company.id}])
            report = Retention.run(self.RETENTION_TODAY)
        self.assertEqual(
            [p.active for p in Party.browse(
                    [buyer.id, host.id, employee.id])],
            [True, True, True])
        with inactive_records():
            self.assertFalse(Party(cancelled.id).active)
        self.assertEqual(report.prospects_erased, 1)

    @with_transaction()
    def test_retention_consent_lapse(self):
        "Marketing consents lapse 3 years after the last purchase, not before"
        from trytond.modules.company.tests import set_company
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        Party = pool.get('party.party')
        Retention = pool.get('bol_air.gdpr.retention')
        company = self._retention_setup()
        newsletter = Purpose.by_code('newsletter')
        sms = Purpose.by_code('sms')
        customer = Purpose.by_code('customer')
        self.assertNotEqual(customer.legal_basis, 'consent')
        with set_company(company):
            anne, berthe, claire = self._prospects(
                *[dt.date(2020, 1, 15)] * 3, prefix="CLIENT")
            self._purchases(company,
                (anne, dt.date(2024, 3, 1)), (anne, dt.date(2026, 6, 9)),
                (berthe, dt.date(2026, 6, 11)), (claire, dt.date(2026, 1, 5)))
            # A later order, cancelled, is no purchase
            self._purchases(
                company, (anne, dt.date(2028, 1, 1)), state='cancelled')
            self._consents(
                (anne, 'newsletter', 'given', 'paper', dt.date(2024, 3, 1)),
                (anne, 'sms', 'given', 'paper', dt.date(2024, 3, 1)),
                (anne, 'customer', 'given', 'paper', dt.date(2024, 3, 1)),
                (berthe, 'newsletter', 'given', 'paper',
                    dt.date(2024, 3, 1)),
                # Subscribed again lately: her own recent choice
                (claire, 'newsletter', 'given', 'portal',
                    dt.date(2027, 2, 1)))
            # The day before, nothing has lapsed yet
            before = Retention.run(self.RETENTION_TODAY - dt.timedelta(1))
            self.assertEqual(before.consents_lapsed, 0)
            report = Retention.run(self.RETENTION_TODAY)
            again = Retention.run(self.RETENTION_TODAY)
        self.assertEqual(report.consents_lapsed, 2)
        self.assertEqual(again.consents_lapsed, 0)
        self.assertEqual(report.prospects_erased, 0)
        status = Consent.current_status(
            [anne.id, berthe.id, claire.id],
            [newsletter.id, sms.id, customer.id])
        self.assertEqual(status, {
                (anne.id, newsletter.id): 'withdrawn',
                (anne.id, sms.id): 'withdrawn',
                (anne.id, customer.id): 'given',
                (berthe.id, newsletter.id): 'given',
                (claire.id, newsletter.id): 'given',
                })
        lapsed = Consent.search([('channel', '=', 'retention')])
        self.assertEqual(len(lapsed), 2)
        self.assertEqual(
            {c.comment for c in lapsed},
            {"Lapsed: no purchase for 36 months."})
        self.assertTrue(all(
                c.date.date() == self.RETENTION_TODAY for c in lapsed))
        anne = Party(anne.id)
        self.assertTrue(anne.active)
        self.assertEqual(sorted(report.details.splitlines()), sorted([
                f'{anne.code}: consent to "{newsletter.rec_name}" lapsed '
                '(last purchase on 2026-06-09).',
                f'{anne.code}: consent to "{sms.rec_name}" lapsed '
                '(last purchase on 2026-06-09).',
                ]))

    @with_transaction()
    def test_retention_report_codes_not_names(self):
        "The report counts the actions and names people by number only"
        from trytond.modules.company.tests import set_company
        pool = Pool()
        Retention = pool.get('bol_air.gdpr.retention')
        company = self._retention_setup()
        with set_company(company):
            prospects = self._prospects(*[dt.date(2021, 4, 1)] * 2)
            customer, = self._prospects(dt.date(2021, 4, 1), prefix="CLIENT")
            self._purchases(company, (customer, dt.date(2021, 4, 2)))
            self._consents(
                (customer, 'newsletter', 'given', 'paper',
                    dt.date(2021, 4, 2)))
            codes = [p.code for p in prospects + [customer]]
            names = [p.name for p in prospects + [customer]]
            report = Retention.run(self.RETENTION_TODAY)
        self.assertEqual(
            (report.prospects_erased, report.consents_lapsed), (2, 1))
        lines = report.details.splitlines()
        self.assertEqual(len(lines), 3)
        for line, code in zip(lines, codes):
            self.assertTrue(line.startswith(f"{code}: "), line)
        for name in names + ["Anne", "@Example.com"]:
            self.assertNotIn(name, report.details)
        self.assertEqual(Retention.search([]), [report])

    @with_transaction()
    def test_retention_erase_refused_noted(self):
        "A refused erasure is noted by number and does not stop the run"
        from trytond.modules.company.tests import set_company
        from trytond.modules.party.exceptions import EraseError
        pool = Pool()
        Party = pool.get('party.party')
        Retention = pool.get('bol_air.gdpr.retention')
        company = self._retention_setup()
        with set_company(company):
            refused, erased = self._prospects(*[dt.date(2021, 4, 1)] * 2)
            original = Party.gdpr_erase

            def gdpr_erase(parties):
                if refused in parties:
                    raise EraseError(
                        f'Party "{refused.rec_name}" cannot be erased.')
                return original(parties)
            with patch.object(Party, 'gdpr_erase', gdpr_erase):
                report = Retention.run(self.RETENTION_TODAY)
        self.assertEqual(report.prospects_erased, 1)
        self.assertTrue(Party(refused.id).active)
        self.assertEqual(report.details.splitlines()[0],
            f"{refused.code}: prospect kept, the erasure was refused: "
            f'Party "{refused.code}" cannot be erased.')
        self.assertNotIn("PROSPECT", report.details)

    @with_transaction()
    def test_retention_statement_count(self):
        "Selecting 1 or 30 prospects, lapsing 1 or 30 consents: same count"
        from trytond.modules.company.tests import set_company
        pool = Pool()
        Retention = pool.get('bol_air.gdpr.retention')
        company = self._retention_setup()
        old = dt.date(2021, 4, 1)
        now = dt.datetime.combine(self.RETENTION_TODAY, dt.time(3))
        with set_company(company):
            counts = []
            # The first round warms the caches up
            for count in [1, 1, 30]:
                prospects = self._prospects(
                    *[old] * count, prefix=f"P{count}-")
                customers = self._prospects(
                    *[old] * count, prefix=f"C{count}-")
                self._purchases(company, *[(c, old) for c in customers])
                self._consents(*[
                        (c, 'newsletter', 'given', 'paper', old)
                        for c in customers])
                with count_statements() as select:
                    candidates = Retention._prospects_to_erase(
                        self.RETENTION_TODAY)
                self.assertEqual(
                    {i for i, _ in candidates}, {p.id for p in prospects})
                Pool().get('party.party').gdpr_erase(prospects)
                details = []
                with count_statements() as lapse:
                    lapsed = Retention._lapse_consents(
                        self.RETENTION_TODAY, now, details)
                self.assertEqual(lapsed, count)
                # The ids of a batch come from one nextval on PostgreSQL,
                # from the INSERT itself for a single record
                counts.append((select.count, sum(
                            1 for s in lapse.statements
                            if not s.startswith((
                                    'INSERT INTO "bol_air_gdpr_consent"',
                                    'SELECT nextval(')))))
            self.assertEqual(counts[1], counts[2], counts)

    @with_transaction()
    def test_retention_cron(self):
        "The daily job is a scheduled task that runs the retention"
        pool = Pool()
        Cron = pool.get('ir.cron')
        Retention = pool.get('bol_air.gdpr.retention')
        Configuration = pool.get('bol_air.gdpr.configuration')
        config = Configuration(1)
        self.assertEqual(
            (config.prospect_retention_months, config.consent_lapse_months),
            (36, 36))
        cron, = Cron.search([
                ('method', '=', 'bol_air.gdpr.retention|run_cron')])
        self.assertEqual((cron.interval_number, cron.interval_type),
            (1, 'days'))
        Cron.run_once([cron])
        report, = Retention.search([])
        self.assertEqual(report.date, pool.get('ir.date').today())
        self.assertEqual(
            (report.prospects_erased, report.consents_lapsed), (0, 0))


del ModuleTestCase
