# This file is part of bol_air_portal.
"""The portal's frame: logging in and out, the CSRF check, the security
headers, the error pages without traceback."""
from http import HTTPStatus
from unittest.mock import patch
from urllib.parse import quote

from werkzeug.exceptions import Forbidden

from trytond.tests.test_tryton import DB_NAME, RouteTestCase

from ..portal import SESSION_COOKIE
from .tools import (
    PASSWORD, Browser, create_customer, forget_failed_logins, text)


class FrameTestCase(RouteTestCase):
    "Test the portal frame"
    module = 'bol_air_portal'
    language = 'fr'

    @classmethod
    def setUpDatabase(cls):
        create_customer("Anne Portail", 'anne.portail@example.com')

    def setUp(self):
        super().setUp()
        forget_failed_logins(self)

    def test_login_logout(self):
        "A customer logs in, sees her account, logs out"
        browser = Browser()
        response = browser.get('/account')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        self.assertIn('/portal/login?next=', response.location)

        response = browser.login('Anne.Portail@example.com')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        set_cookie = [v for v in response.headers.getlist('Set-Cookie')
            if v.startswith(SESSION_COOKIE + '=')][0]
        for flag in ['Secure', 'HttpOnly', 'SameSite=Lax']:
            self.assertIn(flag, set_cookie)

        response = browser.get('/account')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("Bonjour Anne Portail", text(response))

        # A GET changes nothing: the customer stays logged in
        browser.get('/logout')
        self.assertEqual(browser.get('/account').status_code, HTTPStatus.OK)
        response = browser.post('/logout')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)
        response = browser.get('/account')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

    def test_wrong_password(self):
        "A wrong password is refused with a French message"
        browser = Browser()
        response = browser.login('anne.portail@example.com', 'mauvais')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertIn("mot de passe incorrect", text(response))
        self.assertIn('value="anne.portail@example.com"',
            response.get_data(as_text=True))

    def test_rate_limited_login(self):
        "After 6 wrong passwords even the right one is refused"
        browser = Browser()
        email = 'anne.portail@example.com'
        for _ in range(6):
            browser.login(email, 'mauvais')
        response = browser.login(email, PASSWORD)
        self.assertEqual(response.status_code, HTTPStatus.TOO_MANY_REQUESTS)
        self.assertIn("Trop de tentatives", text(response))
        response = browser.get('/account')
        self.assertEqual(response.status_code, HTTPStatus.SEE_OTHER)

    def test_csrf(self):
        "A POST without the token of the browser's cookie is refused"
        browser = Browser()
        response = browser.post('/login', {
                'email': 'anne.portail@example.com', 'password': PASSWORD},
            csrf=False)
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)
        self.assertIn("Formulaire expiré", text(response))
        response = browser.post('/login', {
                'email': 'anne.portail@example.com', 'password': PASSWORD,
                'csrf_token': '0' * 64})
        self.assertEqual(response.status_code, HTTPStatus.FORBIDDEN)

    def test_cross_site_post(self):
        "A POST from another site is refused before the page runs"
        browser = Browser()
        # trytond refuses it (403) before dispatching
        with self.assertRaises(Forbidden):
            browser.post('/login', {
                    'email': 'anne.portail@example.com',
                    'password': PASSWORD},
                headers={'Origin': 'https://evil.example'})
        self.assertIsNone(browser.cookie(SESSION_COOKIE))

    def test_headers_and_errors(self):
        "Security headers everywhere; errors are French pages"
        browser = Browser()
        response = browser.get('/login')
        csp = response.headers['Content-Security-Policy']
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn('unsafe-inline', csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(response.headers['X-Content-Type-Options'], 'nosniff')

        response = browser.get('/nowhere')
        self.assertEqual(response.status_code, HTTPStatus.NOT_FOUND)
        self.assertIn("Page introuvable", text(response))
        self.assertIn('Content-Security-Policy', response.headers)

        response = browser.get('/static/portal.css')
        self.assertEqual(response.status_code, HTTPStatus.OK)
        self.assertEqual(browser.get('/static/..%2Ftryton.cfg').status_code,
            HTTPStatus.NOT_FOUND)

    def test_no_traceback(self):
        "An unexpected error shows an apology, never a traceback"
        browser = Browser()
        with patch('trytond.modules.web_user.user.User.authenticate',
                side_effect=ZeroDivisionError("secret detail")):
            response = browser.login('anne.portail@example.com')
        self.assertEqual(response.status_code,
            HTTPStatus.INTERNAL_SERVER_ERROR)
        body = text(response)
        self.assertIn("Un incident est survenu", body)
        self.assertNotIn("secret detail", body)
        self.assertNotIn("Traceback", body)

    def test_next_stays_on_portal(self):
        "After logging in, only a page of the portal is followed"
        browser = Browser()
        response = browser.post('/login', {
                'email': 'anne.portail@example.com', 'password': PASSWORD,
                'next': 'https://evil.example/'})
        self.assertEqual(response.location,
            f'/{quote(DB_NAME)}/portal/account')


del RouteTestCase
