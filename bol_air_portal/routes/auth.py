# This file is part of bol_air_portal.
"""Accounts: logging in and out, signing up with e-mail validation,
resetting and changing the password or the e-mail (Tryton ``web.user``: its
password hashes, its tokens, its sessions and its login rate limiting)."""
import datetime
import re
from http import HTTPStatus

from werkzeug.exceptions import BadRequest, NotFound

from bol_air_crm.cleaning import email_key

from trytond.exceptions import RateLimitException
from trytond.tools.email_ import EmailNotValidError, validate_email

from ..exceptions import PortalError
from ..portal import _, notice, route, serve_static
from ..user import web_user_email

NOTICE_LOGGED_OUT = notice('logged_out')
NOTICE_CHECK_EMAIL = notice('check_email')
NOTICE_VALIDATION_SENT = notice('validation_sent')
NOTICE_EMAIL_VALIDATED = notice('email_validated')
NOTICE_RESET_SENT = notice('reset_sent')
NOTICE_PASSWORD_CHANGED = notice('password_changed')
NOTICE_PASSWORD_SET = notice('password_set')
NOTICE_EMAIL_CHANGED = notice('email_changed')
NOTICE_EMAIL_CONFIRMED = notice('email_confirmed')
NOTICE_EMAIL_CHANGE_CANCELLED = notice('email_change_cancelled')


@route('/static/<name>', login=False)
def static(page, name):
    return serve_static(name)


@route('/<path:rest>', methods=('GET', 'POST'), login=False)
def not_found(page, rest):
    "Any other address of the portal: its 404 page"
    raise NotFound()


@route('/', login=False)
def home(page):
    return page.render('home.html')


@route('/login', methods=('GET', 'POST'), login=False)
def login(page):
    request = page.request
    if request.method == 'GET':
        if page.user:
            return page.redirect('/account')
        return page.render('login.html', next=page.next_url('/account'))
    WebUser = page.pool.get('web.user')
    email = (request.form.get('email') or '').strip()
    password = request.form.get('password') or ''
    status = HTTPStatus.OK
    try:
        user = WebUser.authenticate(email, password) if email else None
    except RateLimitException:
        user = None
        status = HTTPStatus.TOO_MANY_REQUESTS
        error = _('msg_login_blocked')
    else:
        error = _('msg_login_wrong')
    if user and not user.email_valid:
        # Only who knows the password learns the account waits for it
        return page.render('login.html', error=_('msg_login_not_validated'),
            unvalidated=user.email, next=page.next_url('/account'))
    if user and user.party:
        page.login(user)
        return page.redirect_to(page.next_url('/account'))
    return page.render('login.html', status=status, error=error,
        next=page.next_url('/account'))


@route('/logout', methods=('POST',), login=False)
def logout(page):
    page.logout()
    return page.redirect('/login', notice=NOTICE_LOGGED_OUT)


# Sign-up, e-mail validation, password reset, re-authentication
TOKEN = re.compile(r'^[0-9a-f]{16,128}$')


def _check_new_password(page, email, name=None):
    """The new password of the form if it follows the policy and matches
    its confirmation, else raise PortalError"""
    WebUser = page.pool.get('web.user')
    password = page.request.form.get('password') or ''
    if password != (page.request.form.get('password_confirm') or ''):
        raise PortalError(_('msg_password_mismatch'))
    WebUser.check_portal_password(password, email, name)
    return password


def _check_email(email):
    "The e-mail typed if it is valid, else raise PortalError"
    # The customer file's rule, then the core's (when email_validator is
    # installed)
    key = email_key(email)
    if key is None:
        raise PortalError(_('msg_email_invalid'))
    try:
        validate_email(key)
    except EmailNotValidError as e:
        raise PortalError(_('msg_email_invalid')) from e
    return web_user_email(key)


@route('/signup', methods=('GET', 'POST'), login=False)
def signup(page):
    if page.request.method == 'GET':
        if page.user:
            return page.redirect('/account')
        return page.render('signup.html')
    WebUser = page.pool.get('web.user')
    form = page.request.form
    name = ' '.join((form.get('name') or '').split())
    try:
        if not name:
            raise PortalError(_('msg_signup_name_required'))
        if len(name) > 100:
            raise PortalError(_('msg_signup_name_too_long'))
        email = _check_email((form.get('email') or '').strip())
        password = _check_new_password(page, email, name)
    except PortalError as e:
        return page.render('signup.html', error=e.message)
    WebUser.portal_signup(name, email, password, page.absolute_url)
    # The same answer whether the e-mail had an account or not
    return page.redirect('/login', notice=NOTICE_CHECK_EMAIL)


@route('/validate', methods=('GET', 'POST'), login=False)
def validate(page):
    """The link of the validation e-mail: a button validates (a GET changes
    nothing)"""
    WebUser = page.pool.get('web.user')
    token = page.request.values.get('token') or ''
    users = WebUser.search([('email_token', '=', token)], limit=1) if (
        TOKEN.match(token)) else []
    if not users:
        return page.render('validate.html', token=None,
            error=_('msg_validate_invalid'), status=HTTPStatus.NOT_FOUND)
    if page.request.method == 'GET':
        return page.render('validate.html', token=token, email=users[0].email)
    WebUser.validate_email_token([token])
    if page.user:
        return page.redirect('/account', notice=NOTICE_EMAIL_VALIDATED)
    return page.redirect('/login', notice=NOTICE_EMAIL_VALIDATED)


@route('/validate/resend', methods=('POST',), login=False)
def validate_resend(page):
    "Send the validation e-mail again (the same answer for any e-mail)"
    WebUser = page.pool.get('web.user')
    email = web_user_email(page.request.form.get('email'))
    users = WebUser.search([
            ('email', '=', email),
            ('email_valid', '=', False),
            ], limit=1) if email else []
    WebUser.portal_send_validation(users, page.absolute_url)
    return page.redirect('/login', notice=NOTICE_VALIDATION_SENT)


@route('/reset', methods=('GET', 'POST'), login=False)
def reset(page):
    "Forgotten password: a link by e-mail (the same answer for any e-mail)"
    if page.request.method == 'GET':
        return page.render('reset.html')
    WebUser = page.pool.get('web.user')
    email = web_user_email(page.request.form.get('email'))
    users = WebUser.search([('email', '=', email)], limit=1) if email else []
    WebUser.portal_send_reset(users, page.absolute_url)
    return page.redirect('/login', notice=NOTICE_RESET_SENT)


@route('/reset/new', methods=('GET', 'POST'), login=False)
def reset_new(page):
    "The link of the reset (or invitation) e-mail: choose the password"
    WebUser = page.pool.get('web.user')
    values = page.request.values
    token = values.get('token') or ''
    email = web_user_email(values.get('email'))
    now = datetime.datetime.now()
    users = WebUser.search([
            ('email', '=', email),
            ('reset_password_token', '=', token),
            ('reset_password_token_expire', '>', now),
            ], limit=1) if email and TOKEN.match(token) else []
    if not users:
        return page.render('reset_new.html', token=None, email=None,
            error=_('msg_reset_invalid'), status=HTTPStatus.NOT_FOUND)
    if page.request.method == 'GET':
        return page.render('reset_new.html', token=token, email=email)
    try:
        password = _check_new_password(page, email)
    except PortalError as e:
        return page.render('reset_new.html', token=token, email=email,
            error=e.message)
    if not WebUser.portal_set_password_token(email, token, password):
        return page.render('reset_new.html', token=None, email=None,
            error=_('msg_reset_invalid'), status=HTTPStatus.NOT_FOUND)
    page.logout()
    return page.redirect('/login', notice=NOTICE_PASSWORD_CHANGED)


@route('/account/security', methods=('GET', 'POST'))
def security(page):
    "Change the e-mail or the password, after typing the current password"
    if page.request.method == 'GET':
        return page.render('security.html')
    pool = page.pool
    WebUser = pool.get('web.user')
    Session = pool.get('web.user.session')
    form = page.request.form
    action = form.get('action')
    if action == 'cancel_email':
        WebUser.portal_cancel_email_change([WebUser(page.user.id)])
        return page.redirect(
            '/account/security', notice=NOTICE_EMAIL_CHANGE_CANCELLED)
    if action not in {'email', 'password'}:
        raise BadRequest()
    try:
        user = WebUser.authenticate(
            page.user.email, form.get('current_password') or '')
    except RateLimitException:
        return page.render('security.html', error=_('msg_login_blocked'),
            status=HTTPStatus.TOO_MANY_REQUESTS)
    if user is None or user.id != page.user.id:
        # The failed attempt is recorded: nothing to roll back
        return page.render('security.html',
            error=_('msg_security_wrong_password'))
    try:
        if action == 'password':
            password = _check_new_password(page, user.email)
        else:
            email = _check_email((form.get('new_email') or '').strip())
            if email == user.email:
                raise PortalError(_('msg_security_same_email'))
            if WebUser.search([('email', '=', email)], limit=1):
                raise PortalError(_('msg_security_email_taken'))
    except PortalError as e:
        return page.render('security.html', error=e.message)
    # Other devices must log in again
    Session.delete(Session.search([
                ('user', '=', user.id),
                ('key', '!=', page.session_key),
                ]))
    if action == 'password':
        WebUser.write([user], {'password': password})
        return page.redirect('/account/security', notice=NOTICE_PASSWORD_SET)
    WebUser.portal_change_email(WebUser(user.id), email, page.absolute_url)
    return page.redirect('/account/security', notice=NOTICE_EMAIL_CHANGED)


@route('/account/email/confirm', methods=('GET', 'POST'))
def email_confirm(page):
    """The link sent to a new e-mail: the customer, logged in to her
    account, confirms it with a button (a GET changes nothing)"""
    WebUser = page.pool.get('web.user')
    token = page.request.values.get('token') or ''
    user = WebUser(page.user.id)
    if not (TOKEN.match(token) and WebUser.portal_pending_email(user, token)):
        return page.render('email_confirm.html', token=None,
            error=_('msg_email_confirm_invalid'),
            status=HTTPStatus.NOT_FOUND)
    if page.request.method == 'GET':
        return page.render('email_confirm.html', token=token,
            old=user.email, new=user.portal_new_email)
    if not WebUser.portal_confirm_email(user):
        return page.render('email_confirm.html', token=None,
            error=_('msg_security_email_taken'), status=HTTPStatus.CONFLICT)
    return page.redirect('/account/security', notice=NOTICE_EMAIL_CONFIRMED)
