# This file is part of bol_air_portal.
"""Customer accounts: sign-up with e-mail validation, linking to the
customer file, password policy, password reset, re-authentication, the
staff's invitations."""
import datetime
import re
from http import HTTPStatus
from unittest.mock import patch

from bol_air_crm.tests.querycount import count_statements

from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase
from trytond.tools.email_ import EmailNotValidError
from trytond.transaction import Transaction

from .. import user as user_module
from ..routes import auth as auth_module
from ..portal import SESSION_COOKIE
from .tools import (
    PASSWORD, Browser, create_customer, forget_failed_logins, text)

NEW_PASSWORD = 'Une autre phrase de passe 7'


class AccountsTestCase(RouteTestCase):
    "Test the customer accounts of the portal"
    module = 'bol_air_portal'
    language = 'fr'

    @classmethod
    def setUpDatabase(cls):
        create_customer("Anne Compte", 'anne.compte@example.com')
        Party = Pool().get('party.party')
        Party.create([{
                    'name': "FICHIER Berthe", 'crm_customer': True,
                    'contact_mechanisms': [('create', [{
                                    'type': 'email',
                                    'value': 'Berthe.Fichier@Example.com',
                                    }])],
                    }])

    def setUp(self):
        super().setUp()
        forget_failed_logins(self)
        self.mails = []
        patcher = patch.object(user_module, 'send_message_transactional',
            lambda msg, **kw: self.mails.append(msg))
        patcher.start()
        self.addCleanup(patcher.stop)

    def mail(self, to):
        "The last e-mail sent to ``to``: its subject, its body, its link"
        mails = [m for m in self.mails if m['To'] == to]
        self.assertTrue(mails, f"no e-mail to {to}")
        msg = mails[-1]
        body = msg.get_content()
        links = re.findall(r'https?://\S+', body)
        return msg['Subject'], body, links

    def path(self, link):
        "The portal path of an e-mail's link"
        return link.split(f'/{DB_NAME}/portal', 1)[1] if (
            f'/{DB_NAME}/portal' in link) else link.split('/portal', 1)[1]

    def signup(self, browser, name, email, password=PASSWORD,
            confirm=None):
        return browser.post('/signup', {
                'name': name, 'email': email, 'password': password,
                'password_confirm': password if confirm is None else confirm,
                })

    def web_users(self, email):
        with Transaction().start(DB_NAME, 0):
            WebUser = Pool().get('web.user')
            return [(u.id, u.party.id if u.party else None, u.email_valid)
                for u in WebUser.search([('email', '=', email)])]

    def party_count(self):
        with Transaction().start(DB_NAME, 0):
            return Pool().get('party.party').search_count([])

    def test_signup_validate_login(self):
        "Sign up, validate the e-mail from its link, then log in"
        browser = Browser()
        response = browser.get('/signup')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Créer un compte", text(response))
        parties = self.party_count()

        response = self.signup(browser, "Claire Nouvelle",
            'Claire.Nouvelle@example.com')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=check_email', response.location)
        response = browser.get(self.path(response.location))
        self.assertIn("Nous vous avons envoyé un e-mail", text(response))
        self.assertEqual(self.party_count(), parties + 1)
        (user_id, party_id, valid), = self.web_users(
            'claire.nouvelle@example.com')
        self.assertFalse(valid)
        with Transaction().start(DB_NAME, 0):
            party = Pool().get('party.party')(party_id)
            self.assertEqual(party.name, "Claire Nouvelle")
            self.assertEqual(party.source, 'portal')
            self.assertTrue(party.crm_customer)
            self.assertTrue(party.code)
            self.assertEqual(party.email, 'claire.nouvelle@example.com')

        # Not validated yet: refused, with an offer to send the link again
        response = browser.login('claire.nouvelle@example.com')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("pas encore validée", text(response))
        self.assertIn("Renvoyer l'e-mail de validation", text(response))
        self.assertIsNone(browser.cookie(SESSION_COOKIE))

        subject, body, (link,) = self.mail('claire.nouvelle@example.com')
        self.assertIn("validez votre adresse", subject)
        self.assertIn('/validate?token=', link)
        self.assertTrue(link.startswith('https://localhost/'))
        # The link's GET changes nothing: it shows a button
        response = browser.get(self.path(link))
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("claire.nouvelle@example.com", text(response))
        self.assertFalse(self.web_users('claire.nouvelle@example.com')[0][2])
        token = link.split('token=')[1]
        response = browser.post('/validate', {'token': token})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=email_validated', response.location)
        self.assertTrue(self.web_users('claire.nouvelle@example.com')[0][2])
        # The link served once
        response = browser.get(self.path(link))
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertIn("n'est pas valable ou a déjà servi", text(response))
        response = browser.post('/validate', {'token': token})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

        response = browser.login('claire.nouvelle@example.com')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        response = browser.get('/account')
        self.assertIn("Bonjour Claire Nouvelle", text(response))

    def test_resend_validation(self):
        "The validation e-mail is sent again on request, with the same link"
        browser = Browser()
        self.signup(browser, "Denise Relance", 'denise.relance@example.com')
        _, _, (link,) = self.mail('denise.relance@example.com')
        response = browser.post('/validate/resend',
            {'email': 'denise.relance@example.com'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=validation_sent', response.location)
        self.assertEqual(len([m for m in self.mails
                    if m['To'] == 'denise.relance@example.com']), 2)
        self.assertEqual(self.mail('denise.relance@example.com')[2], [link])
        # Not more than two within minutes: nobody floods a mailbox
        response = browser.post('/validate/resend',
            {'email': 'denise.relance@example.com'})
        self.assertIn('notice=validation_sent', response.location)
        self.assertEqual(len(self.mails), 2)
        # Any other address: the same answer, no e-mail
        for email in ['anne.compte@example.com', 'personne@example.com']:
            response = browser.post('/validate/resend', {'email': email})
            self.assertIn('notice=validation_sent', response.location)
        self.assertEqual(len(self.mails), 2)

    def test_validate_bad_token(self):
        "A validation link that does not exist: a clear French error"
        browser = Browser()
        for path in ['/validate', '/validate?token=zz', '/validate?token=%s'
                % ('0' * 64)]:
            response = browser.get(path)
            self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
            self.assertIn("Ce lien de validation n'est pas valable",
                text(response))

    def test_signup_existing_party(self):
        "Signing up with an e-mail of the customer file links to it"
        browser = Browser()
        parties = self.party_count()
        response = self.signup(browser, "Berthe Fichier",
            'berthe.fichier@EXAMPLE.com')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(self.party_count(), parties)
        (_, party_id, _), = self.web_users('berthe.fichier@example.com')
        with Transaction().start(DB_NAME, 0):
            party = Pool().get('party.party')(party_id)
            self.assertEqual(party.name, "FICHIER Berthe")

    def test_signup_existing_account(self):
        "Signing up again answers the same and says so by e-mail only"
        browser = Browser()
        accounts = self.web_users('anne.compte@example.com')
        parties = self.party_count()
        response = self.signup(browser, "Anne Usurpée",
            'Anne.Compte@example.com', NEW_PASSWORD)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=check_email', response.location)
        self.assertEqual(self.web_users('anne.compte@example.com'), accounts)
        self.assertEqual(self.party_count(), parties)
        subject, body, links = self.mail('anne.compte@example.com')
        self.assertIn("vous avez déjà un compte", subject)
        self.assertTrue(any('/reset/new?token=' in link for link in links))
        # Again: the same answer, the link of the pending token is not
        # sent twice
        self.signup(browser, "Anne Usurpée", 'anne.compte@example.com',
            NEW_PASSWORD)
        self.assertEqual(len(self.mails), 2)
        self.assertFalse(any('/reset/new?token=' in link
                for link in self.mail('anne.compte@example.com')[2]))
        # Then the mailbox is left alone
        self.signup(browser, "Anne Usurpée", 'anne.compte@example.com',
            NEW_PASSWORD)
        self.assertEqual(len(self.mails), 2)
        # The password did not change
        self.assertEqual(browser.login('anne.compte@example.com',
                NEW_PASSWORD).status_code, HTTPStatus.OK)
        self.assertEqual(browser.login('anne.compte@example.com')
            .status_code, HTTPStatus.SEE_OTHER)

    def test_weak_passwords(self):
        "Weak passwords are refused in French, the form keeps what was typed"
        browser = Browser()
        email = 'eve.faible@example.com'
        for password, confirm, message in [
                ('court', None, "au moins 12 caractères"),
                ('onze-signes', None, "au moins 12 caractères"),
                (email, None, "ne peut pas être votre adresse e-mail"),
                (email.upper(), None, "ne peut pas être votre adresse e-mail"),
                ('eve faible', None, "au moins 12 caractères"),
                ("Eve Faible Durand", None, "ne peut pas être votre nom"),
                ('azertyuiop123', None, "trop facile à deviner"),
                ('123456789012', None, "trop facile à deviner"),
                ('password1234', None, "trop facile à deviner"),
                ('eve.faible1987', None, "trop facile à deviner"),
                ('soleil123456', None, "trop facile à deviner"),
                (PASSWORD, PASSWORD + 'x', "sont différents"),
                ]:
            with self.subTest(password=password):
                response = self.signup(browser, "Eve Faible Durand", email,
                    password, confirm)
                self.assertEqual(response.status_code, HTTPStatus.OK)
                self.assertIn(message, text(response))
                html = response.get_data(as_text=True)
                self.assertIn('value="Eve Faible Durand"', html)
                self.assertIn(f'value="{email}"', html)
                if password not in {email, "Eve Faible Durand"}:
                    self.assertNotIn(f'value="{password}"', html)
        response = self.signup(browser, "  ", email)
        self.assertIn("Indiquez votre nom", text(response))
        response = self.signup(browser, "x" * 101, email)
        self.assertIn("Le nom est trop long", text(response))
        response = self.signup(browser, "Eve Faible", 'pas-une-adresse')
        self.assertIn("n'est pas valide", text(response))
        # The core's check (email_validator, when installed)
        with patch.object(auth_module, 'validate_email',
                side_effect=EmailNotValidError("no MX")):
            response = self.signup(browser, "Eve Faible", email)
        self.assertIn("n'est pas valide", text(response))
        self.assertEqual(self.web_users(email), [])
        self.assertEqual(self.mails, [])

    def test_forbidden_password(self):
        "A password of the configured forbidden list is refused"
        browser = Browser()
        getter = user_module.config.get

        def get(section, option, *args, **kwargs):
            if (section, option) == ('password', 'forbidden'):
                return self.forbidden
            return getter(section, option, *args, **kwargs)
        import tempfile
        with tempfile.NamedTemporaryFile('w', suffix='.txt') as forbidden:
            forbidden.write('azertyuiop123\nmotdepasse1234\n')
            forbidden.flush()
            self.forbidden = forbidden.name
            with patch('trytond.config.get', get):
                response = self.signup(browser, "Félix Interdit",
                    'felix.interdit@example.com', 'motdepasse1234')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Le mot de passe est interdit", text(response))
        self.assertEqual(self.web_users('felix.interdit@example.com'), [])

    def test_reset_password(self):
        "A forgotten password is chosen again from the e-mail's link, once"
        self._create('Gilles Oubli', 'gilles.oubli@example.com')
        # Whoever is logged in elsewhere is logged out by the new password
        elsewhere = Browser()
        elsewhere.login('gilles.oubli@example.com')
        self.assertEqual(elsewhere.get('/account').status_code, HTTPStatus.OK)
        browser = Browser()
        response = browser.get('/reset')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        response = browser.post('/reset', {
                'email': 'Gilles.Oubli@example.com'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=reset_sent', response.location)
        subject, body, (link,) = self.mail('gilles.oubli@example.com')
        self.assertIn("nouveau mot de passe", subject)
        self.assertIn('/reset/new?', link)
        path = self.path(link)
        query = dict(p.split('=', 1) for p in path.split('?')[1].split('&'))
        token = query['token']
        response = browser.get(path)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Choisissez le mot de passe", text(response))

        # A weak password: refused, the link still works
        response = browser.post('/reset/new', {
                'token': token, 'email': 'gilles.oubli@example.com',
                'password': 'court', 'password_confirm': 'court'})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("au moins 12 caractères", text(response))
        response = browser.post('/reset/new', {
                'token': token, 'email': 'gilles.oubli@example.com',
                'password': NEW_PASSWORD, 'password_confirm': NEW_PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=password_changed', response.location)
        self.assertEqual(browser.login('gilles.oubli@example.com')
            .status_code, HTTPStatus.OK)
        self.assertEqual(browser.login('gilles.oubli@example.com',
                NEW_PASSWORD).status_code, HTTPStatus.SEE_OTHER)
        self.assertEqual(elsewhere.get('/account').status_code,
            HTTPStatus.SEE_OTHER)

        # The link served once
        browser = Browser()
        response = browser.get(path)
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertIn("Ce lien a expiré ou a déjà servi", text(response))
        response = browser.post('/reset/new', {
                'token': token, 'email': 'gilles.oubli@example.com',
                'password': PASSWORD, 'password_confirm': PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(browser.login('gilles.oubli@example.com',
                NEW_PASSWORD).status_code, HTTPStatus.SEE_OTHER)

    def test_reset_expired(self):
        "An expired reset link: a clear French error, the password unchanged"
        self._create('Hélène Tard', 'helene.tard@example.com')
        browser = Browser()
        browser.post('/reset', {'email': 'helene.tard@example.com'})
        _, _, (link,) = self.mail('helene.tard@example.com')
        path = self.path(link)
        with Transaction().start(DB_NAME, 0) as transaction:
            WebUser = Pool().get('web.user')
            users = WebUser.search([('email', '=', 'helene.tard@example.com')])
            WebUser.write(users, {
                    'reset_password_token_expire': (
                        datetime.datetime.now()
                        - datetime.timedelta(minutes=1)),
                    })
            transaction.commit()
        response = browser.get(path)
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertIn("Ce lien a expiré", text(response))
        self.assertIn("Demander un nouveau lien", text(response))
        query = dict(p.split('=', 1) for p in path.split('?')[1].split('&'))
        response = browser.post('/reset/new', {
                'token': query['token'], 'email': 'helene.tard@example.com',
                'password': NEW_PASSWORD, 'password_confirm': NEW_PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertEqual(browser.login('helene.tard@example.com')
            .status_code, HTTPStatus.SEE_OTHER)
        # An expired token is replaced by a new one on request
        browser.post('/reset', {'email': 'helene.tard@example.com'})
        self.assertNotEqual(self.mail('helene.tard@example.com')[2], [link])

    def test_reset_unknown_email(self):
        "Resetting an unknown e-mail answers the same and sends nothing"
        browser = Browser()
        response = browser.post('/reset', {'email': 'inconnu@example.com'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=reset_sent', response.location)
        self.assertEqual(self.mails, [])
        response = browser.get(
            '/reset/new?token=%s&email=inconnu@example.com' % ('a' * 64))
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_reauthentication(self):
        "Changing the password or the e-mail asks for the current password"
        self._create('Inès Sûre', 'ines.sure@example.com')
        browser = Browser()
        response = browser.get('/account/security')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        browser.login('ines.sure@example.com')
        other = Browser()
        other.login('ines.sure@example.com')
        response = browser.get('/account/security')
        self.assertEqual(response.status_code, HTTPStatus.OK)

        # A wrong current password: refused, counted as a failed login
        response = browser.post('/account/security', {
                'action': 'password', 'current_password': 'mauvais',
                'password': NEW_PASSWORD, 'password_confirm': NEW_PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Mot de passe actuel incorrect", text(response))
        with Transaction().start(DB_NAME, 0):
            Attempt = Pool().get('web.user.authenticate.attempt')
            self.assertEqual(Attempt.count('ines.sure@example.com'), 1)
        response = browser.post('/account/security', {
                'action': 'email', 'current_password': 'mauvais',
                'new_email': 'ines.nouvelle@example.com'})
        self.assertIn("Mot de passe actuel incorrect", text(response))
        self.assertIn('value="ines.nouvelle@example.com"',
            response.get_data(as_text=True))
        self.assertEqual(self.web_users('ines.nouvelle@example.com'), [])
        response = browser.post('/account/security', {'action': 'other'})
        self.assertEqual(response.status_code, HTTPStatus.BAD_REQUEST)

        # A weak new password: refused
        response = browser.post('/account/security', {
                'action': 'password', 'current_password': PASSWORD,
                'password': 'court', 'password_confirm': 'court'})
        self.assertIn("au moins 12 caractères", text(response))

        response = browser.post('/account/security', {
                'action': 'password', 'current_password': PASSWORD,
                'password': NEW_PASSWORD, 'password_confirm': NEW_PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=password_set', response.location)
        # This device stays logged in, the others are logged out
        self.assertEqual(browser.get('/account').status_code, HTTPStatus.OK)
        self.assertEqual(other.get('/account').status_code,
            HTTPStatus.SEE_OTHER)

        # A new e-mail: valid, not someone else's, validated again
        for new_email, message in [
                ('pas-une-adresse', "n'est pas valide"),
                ('ines.sure@example.com', "C'est déjà votre adresse"),
                ('anne.compte@example.com', "ne peut pas être utilisée"),
                ]:
            response = browser.post('/account/security', {
                    'action': 'email', 'current_password': NEW_PASSWORD,
                    'new_email': new_email})
            self.assertIn(message, text(response))
        response = browser.post('/account/security', {
                'action': 'email', 'current_password': NEW_PASSWORD,
                'new_email': 'Ines.Nouvelle@example.com'})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=email_changed', response.location)
        # The current address stays the login until the new one is
        # validated (a typo does not lock the customer out)
        self.assertEqual(self.web_users('ines.nouvelle@example.com'), [])
        (_, party_id, valid), = self.web_users('ines.sure@example.com')
        self.assertTrue(valid)
        response = browser.get('/account/security')
        self.assertIn("ines.nouvelle@example.com attend sa confirmation",
            text(response))
        self.assertEqual(Browser().login('ines.sure@example.com',
                NEW_PASSWORD).status_code, HTTPStatus.SEE_OTHER)
        subject, _, (link,) = self.mail('ines.nouvelle@example.com')
        self.assertEqual(subject, "Confirmez votre nouvelle adresse e-mail")
        self.assertIn('/account/email/confirm?token=', link)
        token = link.rsplit('token=', 1)[1]
        # The link works only for the account's session: whoever reads a
        # mistyped address cannot take the account over
        response = Browser().get(self.path(link))
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('/login', response.location)
        self._create('Intruse', 'intruse@example.com')
        intruder = Browser()
        intruder.login('intruse@example.com')
        response = intruder.post('/account/email/confirm', {'token': token})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertIn("n'est pas valide ou a expiré", text(response))
        self.assertEqual(self.web_users('ines.nouvelle@example.com'), [])
        response = browser.get(self.path(link))
        self.assertIn("Remplacer ines.sure@example.com par "
            "ines.nouvelle@example.com", text(response))
        response = browser.post('/account/email/confirm', {'token': token})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('notice=email_confirmed', response.location)

        # Confirmed: the new address is the login and the customer's
        # contact e-mail; the former address is told
        self.assertEqual(self.web_users('ines.sure@example.com'), [])
        (_, _, valid), = self.web_users('ines.nouvelle@example.com')
        self.assertTrue(valid)
        subject, body, _ = self.mail('ines.sure@example.com')
        self.assertEqual(subject, "L'adresse e-mail de votre compte a changé")
        self.assertIn("ines.nouvelle@example.com", body)
        self.assertEqual(Browser().login('ines.sure@example.com',
                NEW_PASSWORD).status_code, HTTPStatus.OK)
        self.assertEqual(Browser().login('ines.nouvelle@example.com',
                NEW_PASSWORD).status_code, HTTPStatus.SEE_OTHER)
        with Transaction().start(DB_NAME, 0):
            Party = Pool().get('party.party')
            self.assertEqual(
                [m.value for m in Party(party_id).contact_mechanisms
                    if m.type == 'email'],
                ['ines.nouvelle@example.com'])
        self.assertNotIn("attend sa confirmation",
            text(browser.get('/account/security')))
        # The link is used up
        response = browser.post('/account/email/confirm', {'token': token})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

    def test_email_change_cancelled_or_taken(self):
        """A pending new address can be cancelled; taken by another account
        before it is confirmed, the change is dropped; a password reset
        drops it too"""
        self._create('Léa Lente', 'lea.lente@example.com')
        browser = Browser()
        browser.login('lea.lente@example.com')

        def change(email):
            response = browser.post('/account/security', {
                    'action': 'email', 'current_password': PASSWORD,
                    'new_email': email})
            self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
            _, _, (link,) = self.mail(email)
            return link.rsplit('token=', 1)[1]

        token = change('lea.annulee@example.com')
        response = browser.post('/account/security', {
                'action': 'cancel_email'})
        self.assertIn('notice=email_change_cancelled', response.location)
        self.assertNotIn("attend sa confirmation",
            text(browser.get('/account/security')))
        response = browser.post('/account/email/confirm', {'token': token})
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)

        token = change('lea.prise@example.com')
        self._create('Autre Léa', 'lea.prise@example.com')
        response = browser.post('/account/email/confirm', {'token': token})
        self.assertEqual(response.status_code, HTTPStatus.CONFLICT)
        self.assertIn("ne peut pas être utilisée", text(response))
        (_, _, valid), = self.web_users('lea.lente@example.com')
        self.assertTrue(valid)
        self.assertNotIn("attend sa confirmation",
            text(browser.get('/account/security')))

        token = change('lea.oubli@example.com')
        browser.post('/reset', {'email': 'lea.lente@example.com'})
        _, _, (link,) = self.mail('lea.lente@example.com')
        reset = self.path(link)
        query = dict(
            p.split('=', 1) for p in reset.split('?', 1)[1].split('&'))
        response = Browser().post('/reset/new', {
                'token': query['token'], 'email': 'lea.lente@example.com',
                'password': NEW_PASSWORD, 'password_confirm': NEW_PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        with Transaction().start(DB_NAME, 0):
            WebUser = Pool().get('web.user')
            user, = WebUser.search([('email', '=', 'lea.lente@example.com')])
            self.assertIsNone(user.portal_new_email)
            self.assertIsNone(user.portal_new_email_token)

    def test_reauthentication_blocked(self):
        "Too many wrong current passwords block the change"
        self._create('Jules Bloqué', 'jules.bloque@example.com')
        browser = Browser()
        browser.login('jules.bloque@example.com')
        for _ in range(6):
            browser.post('/account/security', {
                    'action': 'password', 'current_password': 'mauvais',
                    'password': NEW_PASSWORD,
                    'password_confirm': NEW_PASSWORD})
        response = browser.post('/account/security', {
                'action': 'password', 'current_password': PASSWORD,
                'password': NEW_PASSWORD, 'password_confirm': NEW_PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.TOO_MANY_REQUESTS)
        self.assertIn("Trop de tentatives", text(response))

    def _create(self, name, email, validated=True):
        with Transaction().start(DB_NAME, 0) as transaction:
            result = create_customer(name, email, validated=validated)
            transaction.commit()
        return result

    def test_invite(self):
        "Staff invite many customers; they choose their password"
        pool_parties = []
        with Transaction().start(DB_NAME, 1) as transaction:
            pool = Pool()
            Party = pool.get('party.party')
            Invite = pool.get('bol_air.portal.invite', type='wizard')
            invited = Party.create([{
                        'name': f"Invitée {i}",
                        'contact_mechanisms': [('create', [{
                                        'type': 'email',
                                        'value': f'Invitee.{i}@example.com',
                                        }])],
                        } for i in range(3)])
            no_email, = Party.create([{'name': "Sans Courriel"}])
            anne, = Party.search([('name', '=', "Anne Compte")])
            # The same e-mail as Anne's account: skipped too
            twin, = Party.create([{
                        'name': "Anne Jumelle",
                        'contact_mechanisms': [('create', [{
                                        'type': 'email',
                                        'value': 'anne.compte@example.com',
                                        }])],
                        }])
            pool_parties = invited + [no_email, anne, twin]
            session_id, _, _ = Invite.create()
            with Transaction().set_context(
                    active_model='party.party',
                    active_ids=[p.id for p in pool_parties],
                    active_id=pool_parties[0].id):
                result = Invite.execute(session_id, {}, 'start')
                self.assertEqual(
                    result['view']['defaults']['count'], 6)
                result = Invite.execute(session_id, {}, 'invite')
            defaults = result['view']['defaults']
            self.assertEqual(
                [defaults[f] for f in ['invited', 'no_email', 'existing']],
                [3, 1, 2])
            Invite.delete(session_id)
            transaction.commit()
        self.assertEqual(len(self.mails), 3)
        subject, body, (link,) = self.mail('invitee.0@example.com')
        self.assertIn("votre accès au portail", subject)
        self.assertIn("Bonjour Invitée 0", body)
        (_, _, valid), = self.web_users('invitee.0@example.com')
        self.assertFalse(valid)

        # Invited twice: nothing more
        with Transaction().start(DB_NAME, 1):
            pool = Pool()
            Party = pool.get('party.party')
            Invite = pool.get('bol_air.portal.invite', type='wizard')
            self.assertEqual([len(r) for r in Invite.invite_parties(
                        Party.browse([p.id for p in invited]),
                        url=lambda p, **kw: p)], [0, 0, 3])

        # The invitation's link: choose a password, then log in
        browser = Browser()
        response = browser.login('invitee.0@example.com', NEW_PASSWORD)
        self.assertIn("mot de passe incorrect", text(response))
        path = self.path(link)
        query = dict(p.split('=', 1) for p in path.split('?')[1].split('&'))
        response = browser.get(path)
        self.assertEqual(response.status_code, HTTPStatus.OK)
        response = browser.post('/reset/new', {
                'token': query['token'], 'email': 'invitee.0@example.com',
                'password': NEW_PASSWORD, 'password_confirm': NEW_PASSWORD})
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertTrue(self.web_users('invitee.0@example.com')[0][2])
        response = browser.login('invitee.0@example.com', NEW_PASSWORD)
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn("Bonjour Invitée 0", text(browser.get('/account')))

    def test_invite_access(self):
        "Only the CRM staff run the invitation wizard, not the ambassadors"
        with Transaction().start(DB_NAME, 0) as transaction:
            pool = Pool()
            User = pool.get('res.user')
            ModelData = pool.get('ir.model.data')
            Invite = pool.get('bol_air.portal.invite', type='wizard')
            users = {}
            for group in ['group_crm_sales', 'group_crm_admin',
                    'group_crm_ambassador']:
                users[group], = User.create([{
                            'login': f'invite_{group}',
                            'name': group,
                            'groups': [('add', [ModelData.get_id(
                                            'bol_air_crm', group)])],
                            }])
            for group, user in users.items():
                with self.subTest(group=group), \
                        Transaction().set_user(user.id), \
                        Transaction().set_context(
                            active_model='party.party'):
                    if group == 'group_crm_ambassador':
                        with self.assertRaises(AccessError):
                            Invite.check_access()
                    else:
                        Invite.check_access()
            transaction.rollback()

    def test_invite_statements(self):
        "Inviting 20 customers costs the SQL statements of inviting one"
        with Transaction().start(DB_NAME, 1) as transaction:
            pool = Pool()
            Party = pool.get('party.party')
            Invite = pool.get('bol_air.portal.invite', type='wizard')
            counts = []
            # The first batch loads the caches (messages): not counted
            for size in [1, 1, 20]:
                parties = Party.create([{
                            'name': f"Lot {len(counts)} {i}",
                            'contact_mechanisms': [('create', [{
                                            'type': 'email',
                                            'value':
                                            f'lot.{len(counts)}.{i}'
                                            '@example.com',
                                            }])],
                            } for i in range(size)])
                parties = Party.browse([p.id for p in parties])
                with count_statements() as counter:
                    invited, _, _ = Invite.invite_parties(
                        parties, url=lambda p, **kw: p)
                self.assertEqual(len(invited), size)
                # Inserts are one per record on SQLite; PostgreSQL reserves
                # the ids of a batch with one more statement
                counts.append(counter.count_except_inserts('web_user')
                    - sum('nextval(' in s for s in counter.statements))
            self.assertEqual(counts[1], counts[2], counts)
            transaction.rollback()


del RouteTestCase
