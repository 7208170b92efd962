# This file is part of bol_air_gdpr.
"""The pages the newsletter links lead to: confirming a subscription (the
second step of the double opt-in) and unsubscribing. A GET only shows the
page; the change is a POST (mail scanners follow links), which is also what
mail clients send for a one-click unsubscribe (RFC 8058)."""
from http import HTTPStatus

from genshi.template import MarkupTemplate

from trytond.i18n import gettext
from trytond.protocols.wrappers import (
    Response, allow_null_origin, with_pool, with_transaction)
from trytond.tools import file_open
from trytond.transaction import Transaction, inactive_records
from trytond.wsgi import app

with file_open('bol_air_gdpr/templates/newsletter.html') as fp:
    TEMPLATE = MarkupTemplate(fp.read())


def render(status=HTTPStatus.OK, **values):
    values.setdefault('form', False)
    html = TEMPLATE.generate(**values).render('html', doctype='html5')
    response = Response(html, status, content_type='text/html')
    response.headers['Content-Security-Policy'] = (
        "default-src 'none'; style-src 'self' 'unsafe-inline'; "
        "form-action 'self'; frame-ancestors 'none'")
    response.headers['X-Content-Type-Options'] = 'nosniff'
    response.headers['Referrer-Policy'] = 'no-referrer'
    return response


def _email(pool, request):
    Email = pool.get('marketing.email')
    token = request.args.get('token') or request.form.get('token')
    if token:
        with inactive_records():
            emails = Email.search([('email_token', '=', token)], limit=1)
        if emails:
            return token, emails[0]
    return token, None


def _page(request, pool, action):
    Email = pool.get('marketing.email')
    token, email = _email(pool, request)
    if not email:
        return render(HTTPStatus.NOT_FOUND,
            title=gettext('bol_air_gdpr.msg_newsletter_page_title'),
            message=gettext('bol_air_gdpr.msg_newsletter_unknown_link'))
    with Transaction().set_context(
            language=email.list_.language.code,
            user_agent=request.headers.get('User-Agent')):
        values = {
            'title': email.list_.name,
            }
        if request.method == 'POST':
            getattr(Email, action)([token])
            values['message'] = gettext(
                f'bol_air_gdpr.msg_newsletter_{action}_done',
                email=email.email, list=email.list_.name)
        else:
            values.update(
                form=True, token=token,
                message=gettext(
                    f'bol_air_gdpr.msg_newsletter_{action}_ask',
                    email=email.email, list=email.list_.name),
                button=gettext(f'bol_air_gdpr.msg_newsletter_{action}'))
        return render(**values)


@app.route(
    '/<database_name>/gdpr/newsletter/subscribe', methods={'GET', 'POST'})
@with_pool
@with_transaction()
def newsletter_subscribe(request, pool):
    "Second step of the double opt-in: the person confirms the address"
    return _page(request, pool, 'subscribe')


@app.route(
    '/<database_name>/gdpr/newsletter/unsubscribe', methods={'GET', 'POST'})
@allow_null_origin
@with_pool
@with_transaction()
def newsletter_unsubscribe(request, pool):
    "Unsubscribing withdraws the consent: one click, no login"
    return _page(request, pool, 'unsubscribe')
