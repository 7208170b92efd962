# This file is part of bol_air_portal.
"""What the portal tests share: a customer with a portal account, a
browser-like client that keeps cookies and sends the CSRF token."""
import re
from unittest.mock import patch

from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, Client, backup_db_cache, drop_db, restore_db_cache)
from trytond.protocols.wrappers import Response
from trytond.transaction import Transaction
from trytond.wsgi import app

from ..portal import CSRF_COOKIE, CSRF_FIELD

PASSWORD = 'Un mot de passe solide 42'
# The session cookie is Secure: the test browser talks HTTPS
BASE_URL = 'https://localhost/'


def create_customer(name, email, password=PASSWORD, validated=True):
    "A customer with a portal account (commit the transaction after)"
    pool = Pool()
    Party = pool.get('party.party')
    WebUser = pool.get('web.user')
    party, = Party.create([{
                'name': name,
                'contact_mechanisms': [('create', [{
                                'type': 'email', 'value': email}])],
                }])
    user, = WebUser.create([{
                'email': email, 'party': party.id,
                'email_valid': validated,
                }])
    WebUser.write([user], {'password': password})
    return party, user


class Browser:
    "A test client that keeps its cookies, like a browser"

    def __init__(self, database=DB_NAME):
        self.client = Client(app, Response)
        self.database = database

    def url(self, path):
        return f'/{self.database}/portal{path}'

    def cookie(self, name):
        "The value of the portal's cookie ``name``, or None"
        cookie = self.client.get_cookie(
            name, domain='localhost', path=self.url(''))
        return cookie.value if cookie else None

    def get(self, path, **kwargs):
        kwargs.setdefault('base_url', BASE_URL)
        return self.client.get(self.url(path), **kwargs)

    def csrf(self):
        if self.cookie(CSRF_COOKIE) is None:
            self.get('/login')
        return self.cookie(CSRF_COOKIE)

    def post(self, path, data=None, csrf=True, **kwargs):
        data = dict(data or {})
        if csrf:
            data.setdefault(CSRF_FIELD, self.csrf())
        kwargs.setdefault('base_url', BASE_URL)
        return self.client.post(self.url(path), data=data, **kwargs)

    def login(self, email, password=PASSWORD):
        return self.post('/login', {'email': email, 'password': password})


def text(response):
    "The visible text of an HTML response, tags removed"
    html = response.get_data(as_text=True)
    html = re.sub(r'<(script|style)[^>]*>.*?</\1>', ' ', html, flags=re.S)
    return re.sub(r'\s+', ' ', re.sub(r'<[^>]+>', ' ', html))


def commit():
    Transaction().commit()


def restore_or_build(name, build):
    """Start from the cached test database ``name``, or build it with
    ``build()`` and cache it (the cache is keyed by ``name``: wipe DB_CACHE
    when models or XML change)"""
    drop_db()
    if not restore_db_cache(name):
        build()
        backup_db_cache(name)


def forget_failed_logins(testcase):
    """Start ``testcase`` with no failed login on record and no slow-down
    after the failed ones (web_user's rate limiting)"""
    with Transaction().start(DB_NAME, 0) as transaction:
        Attempt = Pool().get('web.user.authenticate.attempt')
        Attempt.delete(Attempt.search([]))
        transaction.commit()
    patcher = patch('time.sleep', lambda s: None)
    patcher.start()
    testcase.addCleanup(patcher.stop)
