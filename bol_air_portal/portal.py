# This file is part of bol_air_portal.
"""The portal's plumbing, shared by every page.

Every page is declared with :func:`route`, which:

- mounts it under ``/<database>/portal/...``, and answers 404 in a database
  where the module is not activated;
- runs it in a transaction as user 0 (read-only for GET: a GET never
  changes anything), in the database's language;
- finds the logged-in customer from the session cookie (Tryton
  ``web.user.session``) and, when the page needs one, sends anonymous
  visitors to the login page;
- checks the CSRF token of every POST (double-submit cookie, compared in
  constant time) on top of trytond's Origin check;
- sets the security headers (CSP without inline scripts, frame-ancestors)
  and answers errors with a French page, never a traceback.

Routes run **without access checks**: every query must be filtered by
``page.party`` (the logged-in customer). :meth:`Page.own` does it for a
record id given in a URL: another customer's id answers exactly like an id
that does not exist.
"""
import functools
import hmac
import logging
import os
import re
import secrets
import urllib.parse
from http import HTTPStatus

from genshi.template import TemplateLoader
from werkzeug.exceptions import Forbidden, HTTPException, NotFound

import trytond.config as config
from trytond import backend
from trytond.exceptions import UserError, UserWarning
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.protocols.wrappers import (
    Response, redirect, with_pool, with_transaction)
from trytond.transaction import Transaction, TransactionError
from trytond.wsgi import app

logger = logging.getLogger(__name__)

MODULE = 'bol_air_portal'
PREFIX = '/<database_name>/portal'
SESSION_COOKIE = 'bolair_session'
CSRF_COOKIE = 'bolair_csrf'
CSRF_FIELD = 'csrf_token'
HERE = os.path.dirname(__file__)
LOADER = TemplateLoader(
    [os.path.join(HERE, 'templates')], auto_reload=False)
STATIC = os.path.join(HERE, 'static')
STATIC_NAME = re.compile(r'^[a-z0-9_-]+\.(css|js|svg|png|ico)$')
CONTENT_TYPES = {
    'css': 'text/css; charset=utf-8',
    'js': 'text/javascript; charset=utf-8',
    'svg': 'image/svg+xml',
    'png': 'image/png',
    'ico': 'image/x-icon',
    }
CSP = '; '.join([
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self'",
        "script-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
        ])
# Notices a redirect may ask the next page to show (?notice=...): only
# these, so that a link cannot make the portal say anything else
NOTICES = set()


def notice(name):
    "Declare a notice a page may show after a redirect"
    NOTICES.add(name)
    return name


def _(message_id, **variables):
    "The text of the portal's message ``message_id`` in the current language"
    return gettext(f'{MODULE}.{message_id}', **variables)


def secure_cookies():
    return config.getboolean(MODULE, 'secure_cookie', default=True)


class Page:
    "What a page knows of the request: the database, the customer, the token"

    def __init__(self, request, pool, database_name):
        self.request = request
        self.pool = pool
        self.database_name = database_name
        self.cookies = []
        self.csrf_token = request.cookies.get(CSRF_COOKIE) or ''
        if not re.fullmatch(r'[0-9a-f]{64}', self.csrf_token):
            self.csrf_token = secrets.token_hex(32)
            self._set_csrf_cookie()
        self.session_key = request.cookies.get(SESSION_COOKIE) or None
        self.user = None
        if self.session_key:
            WebUser = pool.get('web.user')
            self.user = WebUser.get_user(self.session_key)
        self.party = self.user.party if self.user else None

    # URLs
    def url(self, path='/', **params):
        "The address of the portal page ``path`` (e.g. ``/catalogue``)"
        url = '/%s/portal%s' % (
            urllib.parse.quote(self.database_name), path)
        params = {k: v for k, v in params.items() if v is not None}
        if params:
            url += '?' + urllib.parse.urlencode(params)
        return url

    def static(self, name):
        return self.url(f'/static/{name}')

    def absolute_url(self, path='/', **params):
        "The full address of a page, for e-mails"
        base = config.get(MODULE, 'url', default=None)
        if base is None:
            base = self.request.host_url
        return base.rstrip('/') + self.url(path, **params)

    def redirect(self, path='/', notice=None, **params):
        "Send the browser to ``path`` (303: the next request is a GET)"
        if notice is not None:
            assert notice in NOTICES, notice
            params['notice'] = notice
        return redirect(self.url(path, **params), code=HTTPStatus.SEE_OTHER)

    def redirect_to(self, url):
        "Send the browser to ``url``, a URL built by :meth:`url`"
        return redirect(url, code=HTTPStatus.SEE_OTHER)

    def next_url(self, default='/'):
        "Where to go after logging in: only a page of this portal"
        value = self.request.values.get('next') or ''
        prefix = self.url('/')
        if (value.startswith(prefix) and '//' not in value[1:]
                and '\\' not in value):
            return value
        return self.url(default)

    # Session
    def login(self, user):
        "Open a session for ``user`` (a fresh key and a fresh CSRF token)"
        self.logout()
        self.session_key = user.new_session()
        self.user, self.party = user, user.party
        self.cookies.append(dict(
                key=SESSION_COOKIE, value=self.session_key,
                max_age=int(self.pool.get('web.user.session').timeout()
                    .total_seconds())))
        self.csrf_token = secrets.token_hex(32)
        self._set_csrf_cookie()

    def logout(self):
        if self.session_key:
            Session = self.pool.get('web.user.session')
            Session.remove(self.session_key)
            self.cookies.append(dict(
                    key=SESSION_COOKIE, value='', max_age=0))
        self.session_key = self.user = self.party = None

    def _set_csrf_cookie(self):
        self.cookies.append(dict(key=CSRF_COOKIE, value=self.csrf_token))

    def check_csrf(self):
        sent = self.request.form.get(CSRF_FIELD, '')
        cookie = self.request.cookies.get(CSRF_COOKIE, '')
        if not (cookie and sent and hmac.compare_digest(
                    sent.encode('utf-8', 'replace'),
                    cookie.encode('utf-8', 'replace'))):
            raise Forbidden()

    # Ownership
    def own(self, model, id_, domain=None):
        """The record ``id_`` of ``model`` if it belongs to the logged-in
        customer (``party`` field, or the ``domain`` given), else 404:
        exactly the answer of an id that does not exist."""
        if self.party is None:
            raise NotFound()
        Model = self.pool.get(model)
        if domain is None:
            domain = [('party', '=', self.party.id)]
        try:
            id_ = int(id_)
        except (TypeError, ValueError):
            raise NotFound()
        if not (0 < id_ < 2 ** 31):
            raise NotFound()
        records = Model.search([('id', '=', id_)] + [domain], limit=1)
        if not records:
            raise NotFound()
        return records[0]

    def rollback(self):
        """Undo what the page wrote (before showing a form again with its
        error): the transaction then commits nothing"""
        Transaction().rollback()

    # Rendering
    def render(self, template, status=HTTPStatus.OK, **values):
        "The HTML page of ``template`` (Genshi, escaped) with ``values``"
        notice_ = self.request.args.get('notice')
        values.setdefault('notice', (
                _(f'msg_notice_{notice_}') if notice_ in NOTICES else None))
        values.setdefault('error', None)
        values.setdefault('form', self.request.form)
        values.update(
            page=self, _=_, url=self.url, static=self.static,
            csrf=self.csrf_token, csrf_field=CSRF_FIELD,
            user=self.user, party=self.party)
        stream = LOADER.load(template).generate(**values)
        html = stream.render('html', doctype='html5', encoding='utf-8')
        return Response(html, status, content_type='text/html; charset=utf-8')

    def finish(self, response):
        "Put the cookies the page set on ``response``"
        secure = secure_cookies()
        for cookie in self.cookies:
            response.set_cookie(
                path=f'/{self.database_name}/portal',
                secure=secure, httponly=True, samesite='Lax', **cookie)
        return response


def security_headers(response):
    headers = response.headers
    headers.setdefault('Content-Security-Policy', CSP)
    headers.setdefault('X-Content-Type-Options', 'nosniff')
    headers.setdefault('X-Frame-Options', 'DENY')
    headers.setdefault('Referrer-Policy', 'same-origin')
    if response.mimetype == 'text/html':
        headers.setdefault('Cache-Control', 'no-store')
    return response


def activated(pool):
    "Whether the portal is activated in the database of ``pool``"
    try:
        pool.get('bol_air.portal.configuration')
    except KeyError:
        return False
    return True


def error_page(database_name, code):
    "The French page of an HTTP error, rendered in its own transaction"
    if code not in {400, 403, 404, 405, 413, 429, 503}:
        code = 500
    try:
        with Transaction().start(database_name, 0, readonly=True):
            pool = Pool(database_name)
            if not activated(pool):
                raise NotFound()
            Configuration = pool.get('ir.configuration')
            with Transaction().set_context(
                    language=Configuration.get_language()):
                stream = LOADER.load('error.html').generate(
                    _=_, code=code,
                    url=lambda p='/': '/%s/portal%s' % (
                        urllib.parse.quote(database_name), p),
                    static=lambda n: '/%s/portal/static/%s' % (
                        urllib.parse.quote(database_name), n),
                    user=None, party=None, notice=None, error=None)
                html = stream.render('html', doctype='html5', encoding='utf-8')
        response = Response(
            html, code, content_type='text/html; charset=utf-8')
    except Exception:
        # No database, no portal: the bare status, still no traceback
        status = HTTPStatus(code)
        response = Response(
            f'{status.value} {status.phrase}', code,
            content_type='text/plain; charset=utf-8')
    return security_headers(response)


def route(path, methods=('GET',), login=True):
    """Declare the portal page ``path`` (below ``/<database>/portal``);
    the function gets the :class:`Page` and the URL variables. With
    ``login``, anonymous visitors are sent to the login page."""
    def decorator(func):
        @with_pool
        @with_transaction()
        def handler(request, pool, database_name, **kwargs):
            if not activated(pool):
                raise NotFound()
            Configuration = pool.get('ir.configuration')
            with Transaction().set_context(
                    language=Configuration.get_language()):
                page = Page(request, pool, database_name)
                if request.method == 'POST':
                    page.check_csrf()
                if login and page.user is None:
                    return page.finish(page.redirect(
                            '/login', next=request.full_path.rstrip('?')
                            if request.method == 'GET' else None))
                context = {
                    'web_user': page.user.id if page.user else None,
                    'user_agent': request.headers.get('User-Agent'),
                    }
                with Transaction().set_context(**context):
                    try:
                        response = func(page, **kwargs)
                    except (HTTPException, UserError, UserWarning,
                            backend.DatabaseOperationalError,
                            TransactionError):
                        # Answers, and the restarts trytond handles
                        raise
                    except Exception:
                        logger.exception("portal page %s", request.path)
                        raise
                return page.finish(response)

        @functools.wraps(func)
        def endpoint(request, database_name, **kwargs):
            try:
                response = handler(request, database_name, database_name,
                    **kwargs)
            except HTTPException as e:
                return error_page(database_name, e.code)
            if isinstance(response, HTTPException):
                return error_page(database_name, response.code)
            if response.status_code >= 400 and response.mimetype != (
                    'text/html'):
                return error_page(database_name, response.status_code)
            return security_headers(response)

        app.route(PREFIX + path, methods=set(methods))(endpoint)
        return func
    return decorator


def serve_static(name):
    "A file of the module's ``static`` folder, or 404"
    if not STATIC_NAME.match(name):
        raise NotFound()
    filename = os.path.join(STATIC, name)
    if not os.path.isfile(filename):
        raise NotFound()
    with open(filename, 'rb') as fp:
        data = fp.read()
    response = Response(
        data, 200, content_type=CONTENT_TYPES[name.rsplit('.', 1)[1]])
    response.headers['Cache-Control'] = 'public, max-age=3600'
    return response


class Format:
    "Amounts, dates and selection texts in the customer's language"

    def __init__(self, pool):
        self.pool = pool
        self.lang = pool.get('ir.lang').get()

    def money(self, amount, currency):
        "The amount as a French reader expects it (1 229,80 €)"
        if amount is None:
            return ''
        return self.lang.currency(amount, currency, grouping=True)

    def money_in(self, currency):
        "Amounts in one currency (templates call money(amount))"
        return lambda amount: self.money(amount, currency)

    def quantity(self, value, unit):
        return self.lang.format_number(
            value, digits=unit.digits if unit else None)

    def date(self, value):
        return self.lang.strftime(value) if value else ''
