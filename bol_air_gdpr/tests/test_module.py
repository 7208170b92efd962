# This file is part of bol_air_gdpr.
import datetime as dt

from trytond.model.exceptions import (
    DomainValidationError, RequiredValidationError)
from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.party.tests import (
    PartyCheckEraseMixin, PartyCheckReplaceMixin)
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from bol_air_crm.tests.querycount import count_statements

from ..exceptions import ConsentAccessError, PurposeTextError, RequestError

NOW = dt.datetime(2026, 11, 23, 10, 0)


class BolAirGdprTestCase(
        PartyCheckEraseMixin, PartyCheckReplaceMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test Bol d'Air GDPR module"
    module = 'bol_air_gdpr'

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


del ModuleTestCase
