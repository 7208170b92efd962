# This file is part of bol_air_gdpr.
"""Newsletters through marketing_email bound to the consent ledger: the
double opt-in and the unsubscribe pages, a withdrawal taking the person off
at once, sending only to consenting people, the customer export."""
from unittest.mock import patch

from werkzeug.exceptions import Forbidden

from trytond.pool import Pool
from trytond.protocols.wrappers import HTTPStatus
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.transaction import Transaction

from ..exceptions import ConsentError

SENDER = 'trytond.modules.marketing_email.marketing.send_message_transactional'


class NewsletterTestCase(RouteTestCase):
    "Test newsletters and consent"
    module = 'bol_air_gdpr'
    language = 'fr'

    def setUp(self):
        super().setUp()
        # No slow-down of the token pages in tests
        patcher = patch('trytond.config.getint', self._getint)
        self._getint_orig = __import__('trytond.config').config.getint
        patcher.start()
        self.addCleanup(patcher.stop)

    def _getint(self, section, option, default=None):
        if (section, option) == ('marketing', 'subscribe_delay'):
            return 0
        return self._getint_orig(section, option, default=default)

    def _start(self):
        return Transaction().start(DB_NAME, 0, context={'language': 'fr'})

    def _person(self, name, email=None):
        Party = Pool(DB_NAME).get('party.party')
        values = {'name': name}
        if email:
            values['contact_mechanisms'] = [('create', [{
                            'type': 'email', 'value': email}])]
        party, = Party.create([values])
        return party

    def _newsletter(self):
        pool = Pool(DB_NAME)
        EmailList = pool.get('marketing.email.list')
        Purpose = pool.get('bol_air.gdpr.purpose')
        list_, = EmailList.search([
                ('purpose', '=', Purpose.by_code('newsletter').id)])
        return list_

    def _status(self, party):
        pool = Pool(DB_NAME)
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        purpose = Purpose.by_code('newsletter')
        return Consent.current_status([party.id], [purpose.id]).get(
            (party.id, purpose.id))

    def test_double_opt_in_and_unsubscribe(self):
        "Confirming the e-mail records the consent with its proof"
        sent = []
        with self._start() as transaction, \
                patch(SENDER, lambda msg, **kw: sent.append(msg)):
            pool = Pool(DB_NAME)
            Email = pool.get('marketing.email')
            anne = self._person("Anne Optin", 'anne.optin@example.com')
            self._newsletter().request_subscribe('Anne.Optin@example.com')
            email, = Email.search([
                    ('email', '=', 'anne.optin@example.com'),
                    ('active', '=', False)])
            token = email.email_token
            self.assertEqual(email.person, anne)
            self.assertEqual(len(sent), 1)
            transaction.commit()

        client = self.client()
        url = f'/{DB_NAME}/gdpr/newsletter/subscribe?token={token}'
        response = client.get(url)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn(b'method="post"', response.data)
        with self._start():
            # Opening the link (or a mail scanner following it) changes
            # nothing
            self.assertIsNone(self._status(anne))
        response = client.post(
            url, headers={'User-Agent': 'Navigateur de test/1.0'},
            environ_base={'REMOTE_ADDR': '192.0.2.10'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        with self._start():
            Consent = Pool(DB_NAME).get('bol_air.gdpr.consent')
            Email = Pool(DB_NAME).get('marketing.email')
            self.assertEqual(self._status(anne), 'given')
            consent, = Consent.search([('party', '=', anne.id)])
            self.assertEqual(consent.channel, 'email')
            self.assertEqual(consent.ip_address, '192.0.2.10')
            self.assertEqual(consent.user_agent, 'Navigateur de test/1.0')
            self.assertEqual(
                consent.text_version, consent.purpose.current_text)
            self.assertTrue(Email(email.id).active)

        # The one-click unsubscribe of mail clients: a POST with no Origin
        response = client.post(
            f'/{DB_NAME}/gdpr/newsletter/unsubscribe?token={token}',
            data={'List-Unsubscribe': 'One-Click'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        with self._start():
            Email = Pool(DB_NAME).get('marketing.email')
            self.assertEqual(self._status(anne), 'withdrawn')
            self.assertFalse(Email(email.id).active)

    def test_portal_account_recorded(self):
        "A consent given through the portal names the account used"
        with self._start() as transaction:
            pool = Pool(DB_NAME)
            Consent = pool.get('bol_air.gdpr.consent')
            Purpose = pool.get('bol_air.gdpr.purpose')
            WebUser = pool.get('web.user')
            helene = self._person("Hélène Portail", 'helene@example.com')
            user, = WebUser.create([{
                        'email': 'helene@example.com', 'party': helene.id}])
            with Transaction().set_context(web_user=user.id):
                consent = Consent.record(
                    helene, Purpose.by_code('newsletter'), 'given', 'portal')
            self.assertEqual(consent.web_user, user)
            self.assertIsNone(consent.collected_by)
            transaction.rollback()

    def test_unknown_token(self):
        "A wrong link answers not found and changes nothing"
        client = self.client()
        for action in ['subscribe', 'unsubscribe']:
            response = client.post(
                f'/{DB_NAME}/gdpr/newsletter/{action}?token=nope')
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_cross_site_post_refused(self):
        "A form on another site cannot subscribe someone"
        with self.assertRaises(Forbidden):
            self.client().post(
                f'/{DB_NAME}/gdpr/newsletter/subscribe?token=x',
                headers={'Origin': 'https://evil.example'})

    def test_new_address_becomes_prospect(self):
        "Confirming an address not on file creates the person"
        with self._start() as transaction, patch(SENDER):
            Email = Pool(DB_NAME).get('marketing.email')
            self._newsletter().request_subscribe('nouvelle@example.com')
            email, = Email.search([
                    ('email', '=', 'nouvelle@example.com'),
                    ('active', '=', False)])
            self.assertFalse(email.person)
            Email.subscribe([email.email_token])
            email = Email(email.id)
            self.assertTrue(email.person)
            self.assertEqual(
                email.person.contact_mechanism_get({'email'}).value,
                'nouvelle@example.com')
            self.assertEqual(self._status(email.person), 'given')
            transaction.rollback()

    def test_withdrawal_is_immediate(self):
        "Consent on paper subscribes; a withdrawal unsubscribes at once"
        with self._start() as transaction:
            pool = Pool(DB_NAME)
            Consent = pool.get('bol_air.gdpr.consent')
            Email = pool.get('marketing.email')
            Message = pool.get('marketing.email.message')
            Purpose = pool.get('bol_air.gdpr.purpose')
            newsletter = Purpose.by_code('newsletter')
            berthe = self._person("Berthe Papier", 'berthe@example.com')
            claire = self._person("Claire Papier", 'claire@example.com')
            for party in [berthe, claire]:
                Consent.record(party, newsletter, 'given', 'paper')
            emails = Email.search([('person', 'in', [berthe.id, claire.id])])
            self.assertEqual(len(emails), 2)
            self.assertTrue(all(e.active for e in emails))

            Consent.record(claire, newsletter, 'withdrawn', 'phone')
            email, = Email.search([('person', 'in', [berthe.id, claire.id])])
            self.assertEqual(email.person, berthe)

            message, = Message.create([{
                        'list_': self._newsletter().id,
                        'title': "Nouveautés",
                        'content': '<html><body>Bonjour</body></html>',
                        }])
            Message.send([message])
            sent = []
            with patch(
                    'trytond.modules.marketing_email.marketing'
                    '.send_message_transactional',
                    lambda msg, **kw: sent.append(msg['To'])):
                Message.process([message])
            self.assertTrue(any('berthe@example.com' in t for t in sent))
            self.assertFalse(any('claire@example.com' in t for t in sent))
            self.assertEqual(Message(message.id).state, 'sent')
            transaction.rollback()

    def test_no_subscription_without_consent(self):
        "Staff cannot put someone on the newsletter without consent"
        with self._start() as transaction:
            Email = Pool(DB_NAME).get('marketing.email')
            self._person("Denise Sansaccord", 'denise@example.com')
            with self.assertRaises(ConsentError):
                Email.create([{
                            'email': 'denise@example.com',
                            'list_': self._newsletter().id,
                            }])
            transaction.rollback()

    def test_export_follows_consent(self):
        "The customer export for the newsletter leaves out a withdrawal"
        with self._start() as transaction:
            pool = Pool(DB_NAME)
            Consent = pool.get('bol_air.gdpr.consent')
            Export = pool.get('bol_air.customer.export', type='wizard')
            Party = pool.get('party.party')
            Purpose = pool.get('bol_air.gdpr.purpose')
            newsletter = Purpose.by_code('newsletter')
            customer = Purpose.by_code('customer')
            parties = Party.create([
                    {'name': name, 'crm_customer': True}
                    for name in ["Eve", "Fanny", "Gisèle"]])
            eve, fanny, gisele = parties
            Consent.record(eve, newsletter, 'given', 'paper')
            Consent.record(fanny, newsletter, 'given', 'paper')
            Consent.record(fanny, newsletter, 'withdrawn', 'phone')
            Consent.record(gisele, customer, 'withdrawn', 'phone')

            def export(purpose):
                session_id, _, _ = Export.create()
                with Transaction().set_context(
                        active_model='party.party',
                        active_ids=[p.id for p in parties],
                        active_id=parties[0].id):
                    result = Export.execute(session_id, {
                            'purpose': {'purpose': purpose.id},
                            }, 'start')
                Export.delete(session_id)
                return result['view']['defaults']['count']

            self.assertEqual(export(newsletter), 1)
            # A processing on another legal basis keeps all but the
            # people who opposed
            self.assertEqual(export(customer), 2)
            transaction.rollback()
