# This file is part of bol_air_portal.
"""Logging in and out (Tryton ``web.user``: its password hashes, its
sessions and its login rate limiting)."""
from http import HTTPStatus

from werkzeug.exceptions import NotFound

from trytond.exceptions import RateLimitException

from ..portal import _, notice, route, serve_static

NOTICE_LOGGED_OUT = notice('logged_out')


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
    if user and user.party:
        page.login(user)
        return page.redirect_to(page.next_url('/account'))
    return page.render('login.html', status=status, error=error,
        next=page.next_url('/account'))


@route('/logout', methods=('POST',), login=False)
def logout(page):
    page.logout()
    return page.redirect('/login', notice=NOTICE_LOGGED_OUT)
