# This file is part of bol_air_portal.
"""The customer's space ("Mon compte"): orders and their invoices, points
and vouchers, profile (rectification), consents, her data (access export,
erasure request) and the wish to host a meeting.

Every query is filtered by ``page.party``; a record id in a URL goes
through ``page.own``: another customer's id answers 404 like an id that
does not exist."""
import re
from collections import defaultdict
from http import HTTPStatus
from urllib.parse import quote

from werkzeug.exceptions import NotFound

try:
    import phonenumbers
except ImportError:
    phonenumbers = None

from trytond.i18n import gettext
from trytond.protocols.wrappers import Response
from trytond.transaction import (
    Transaction, inactive_records, without_check_access)

from bol_air_crm.lead import OPEN_STATES as LEAD_OPEN_STATES
from bol_air_crm.sale import CONFIRMED_SALE_STATES, write_guard
from bol_air_gdpr.access import access_json, access_xlsx
from bol_air_gdpr.request import CLOSED as REQUEST_CLOSED

from ..portal import _, Format, notice, route

NOTICE_PROFILE_SAVED = notice('my_profile_saved')
NOTICE_ADDRESS_SAVED = notice('my_address_saved')
NOTICE_CONSENT_GIVEN = notice('my_consent_given')
NOTICE_CONSENT_WITHDRAWN = notice('my_consent_withdrawn')
NOTICE_LOYALTY_JOINED = notice('my_loyalty_joined')

POSTED_INVOICE_STATES = ['posted', 'paid']
RECENT_ORDERS = 3
# Lengths of what a customer may type
NAME_LENGTH = 100
PHONE_LENGTH = 30
STREET_LENGTH = 300
POSTAL_CODE_LENGTH = 20
CITY_LENGTH = 100
PERIOD_LENGTH = 100
MESSAGE_LENGTH = 2000
PHONE = re.compile(r'^\+?[0-9 .()-]{6,}$')
# How the history names what points come from or went to
ORIGIN_MESSAGES = {
    'account.invoice': 'msg_my_origin_invoice',
    'bol_air.voucher': 'msg_my_origin_voucher',
    'bol_air.meeting': 'msg_my_origin_meeting',
    }
MIME_TYPES = {
    'pdf': 'application/pdf',
    'odt': 'application/vnd.oasis.opendocument.text',
    'json': 'application/json',
    'xlsx': (
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'),
    }


def attachment(data, filename, extension):
    "A file to download"
    response = Response(data, HTTPStatus.OK,
        content_type=MIME_TYPES.get(extension, 'application/octet-stream'))
    response.headers['Content-Disposition'] = (
        "attachment; filename*=UTF-8''%s" % quote(filename))
    response.headers['Cache-Control'] = 'no-store'
    return response


def _orders(page, limit=None):
    "The customer's orders (confirmed, not the drafts nor the carts)"
    Sale = page.pool.get('sale.sale')
    return Sale.search([
            ('party', '=', page.party.id),
            ('state', 'in', CONFIRMED_SALE_STATES),
            ], order=[('sale_date', 'DESC'), ('id', 'DESC')], limit=limit)


def _company(page):
    Configuration = page.pool.get('bol_air.portal.configuration')
    return Configuration(1).company


def loyalty_card(page):
    "The customer's loyalty card, deactivated or not, or None"
    Account = page.pool.get('bol_air.loyalty.account')
    with inactive_records():
        accounts = Account.search([('party', '=', page.party.id)], limit=1)
    return accounts[0] if accounts else None


def _vouchers(page):
    "The customer's (valid, past) vouchers"
    pool = page.pool
    Voucher = pool.get('bol_air.voucher')
    today = pool.get('ir.date').today()
    valid, past = [], []
    for voucher in Voucher.search([('party', '=', page.party.id)]):
        if (voucher.state == 'valid' and voucher.remaining
                and voucher.expiry_date >= today):
            valid.append(voucher)
        else:
            past.append(voucher)
    return valid, past


@route('/account')
def account(page):
    card = loyalty_card(page)
    valid, _past = _vouchers(page)
    return page.render('account.html',
        fmt=Format(page.pool), card=card, vouchers=valid,
        orders=_orders(page, limit=RECENT_ORDERS))


# Orders and invoices
def _posted(invoices):
    return [i for i in invoices
        if i.type == 'out' and i.state in POSTED_INVOICE_STATES]


@route('/account/orders')
def orders(page):
    return page.render('account_orders.html',
        fmt=Format(page.pool), orders=_orders(page))


@route('/account/order/<int:sale_id>')
def order(page, sale_id):
    sale = page.own('sale.sale', sale_id, [
            ('party', '=', page.party.id),
            ('state', 'in', CONFIRMED_SALE_STATES),
            ])
    return page.render('account_order.html',
        fmt=Format(page.pool), sale=sale,
        lines=[l for l in sale.lines if l.type == 'line'],
        invoices=_posted(sale.invoices))


@route('/account/invoice/<int:invoice_id>.pdf')
def invoice(page, invoice_id):
    """The posted invoice as a PDF, printed on demand by the portal's HTML
    invoice report (WeasyPrint, no LibreOffice): nothing is stored"""
    invoice = page.own('account.invoice', invoice_id, [
            ('party', '=', page.party.id),
            ('type', '=', 'out'),
            ('state', 'in', POSTED_INVOICE_STATES),
            ])
    InvoiceReport = page.pool.get('bol_air_portal.invoice', type='report')
    extension, data, _print, _name = InvoiceReport.execute([invoice.id], {})
    filename = '%s.%s' % (
        _('msg_my_invoice_filename', number=invoice.number), extension)
    return attachment(bytes(data), filename, extension)


# Loyalty
@route('/account/loyalty')
def loyalty(page):
    pool = page.pool
    Move = pool.get('bol_air.loyalty.move')
    IrModel = pool.get('ir.model')
    card = loyalty_card(page)
    moves = Move.search([('account', '=', card.id)]) if card else []
    fmt = Format(pool)
    kinds = dict(Move.fields_get(['kind'])['kind']['selection'])
    # The origins' names: one read a model, whatever the number of moves
    origins = defaultdict(set)
    for move in moves:
        if move.origin is not None and (move.origin.id or -1) >= 0:
            origins[move.origin.__name__].add(move.origin.id)
    labels = {}
    for model, ids in origins.items():
        message = ORIGIN_MESSAGES.get(model)
        name = IrModel.get_name(model)
        for record in pool.get(model).browse(sorted(ids)):
            labels[model, record.id] = (
                _(message, name=record.rec_name) if message
                else f'{name} {record.rec_name}')
    rows = [{
            'date': fmt.date(move.date),
            'kind': kinds.get(move.kind, move.kind),
            'points': move.points,
            'origin': labels.get(
                (move.origin.__name__, move.origin.id), '')
            if move.origin is not None else '',
            } for move in moves]
    valid, past = _vouchers(page)
    return page.render('account_loyalty.html',
        fmt=fmt, card=card, moves=rows, vouchers=valid, past_vouchers=past,
        currency=_company(page).currency,
        points_rate=fmt.lang.format_number(
            pool.get('bol_air.configuration')(1).points_rate))


@route('/account/loyalty/join', methods=('POST',))
def loyalty_join(page):
    "The customer joins the loyalty programme: her card (once)"
    pool = page.pool
    Account = pool.get('bol_air.loyalty.account')
    # Guard row first: a double click makes one card
    write_guard(pool.get('party.party'), [page.party])
    card = loyalty_card(page)
    if card is None:
        with Transaction().set_context(company=_company(page).id):
            card, = Account.create([{'party': page.party.id}])
    if not card.active:
        # Deactivated by the staff: the page says so
        return page.redirect('/account/loyalty')
    return page.redirect('/account/loyalty', notice=NOTICE_LOYALTY_JOINED)


# Profile (rectification)
def _phone_mechanism(party):
    for mechanism in party.contact_mechanisms:
        if mechanism.type in {'mobile', 'phone'}:
            return mechanism


def _phone(value):
    """The type (mobile, phone) and the international form of the number
    typed (French when without country code), or (None, None)"""
    if len(value) > PHONE_LENGTH or not PHONE.match(value):
        return None, None
    if phonenumbers is None:
        return 'phone', value
    try:
        number = phonenumbers.parse(value, 'FR')
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_valid_number(number):
        return None, None
    type_ = ('mobile' if phonenumbers.number_type(number)
        == phonenumbers.PhoneNumberType.MOBILE else 'phone')
    return type_, phonenumbers.format_number(
        number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _profile_values(page):
    party = page.party
    mechanism = _phone_mechanism(party)
    return {
        'civility': party.civility or '',
        'first_name': party.first_name or '',
        'last_name': party.last_name or (
            party.name if not party.first_name else '') or '',
        'phone': mechanism.value if mechanism else '',
        }


def _clean(form, name, length):
    return ' '.join((form.get(name) or '').split())[:length + 1]


@route('/account/profile', methods=('GET', 'POST'))
def profile(page):
    pool = page.pool
    Party = pool.get('party.party')
    ContactMechanism = pool.get('party.contact_mechanism')
    Address = pool.get('party.address')
    addresses = Address.search([('party', '=', page.party.id)])
    civilities = [(k, v) for k, v in Party.fields_get(
            ['civility'])['civility']['selection'] if k]
    if page.request.method == 'GET':
        return page.render('account_profile.html', form=_profile_values(page),
            errors={}, addresses=addresses, civilities=civilities)
    form = page.request.form
    values = {
        'civility': form.get('civility') or '',
        'first_name': _clean(form, 'first_name', NAME_LENGTH),
        'last_name': _clean(form, 'last_name', NAME_LENGTH),
        'phone': _clean(form, 'phone', PHONE_LENGTH),
        }
    errors = {}
    if values['civility'] not in {'', *dict(civilities)}:
        errors['civility'] = _('msg_my_profile_civility_invalid')
    if not values['last_name']:
        errors['last_name'] = _('msg_my_profile_last_name_required')
    for name in ['first_name', 'last_name']:
        if len(values[name]) > NAME_LENGTH:
            errors[name] = _('msg_my_too_long', length=NAME_LENGTH)
    phone_type = None
    if values['phone']:
        phone_type, number = _phone(values['phone'])
        if phone_type is None:
            errors['phone'] = _('msg_my_profile_phone_invalid')
    if errors:
        return page.render('account_profile.html',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, form=values,
            errors=errors, addresses=addresses, civilities=civilities,
            error=_('msg_my_form_errors'))
    party = page.party
    write_guard(Party, [party])
    Party.write([party], {
            'civility': values['civility'] or None,
            'first_name': values['first_name'] or None,
            'last_name': values['last_name'],
            'name': Party.full_name_from_parts(
                values['last_name'], values['first_name']),
            })
    mechanism = _phone_mechanism(party)
    if values['phone'] and mechanism:
        if mechanism.value != number:
            ContactMechanism.write([mechanism], {
                    'type': phone_type, 'value': number})
    elif values['phone']:
        ContactMechanism.create([{
                    'party': party.id, 'type': phone_type, 'value': number,
                    }])
    elif mechanism:
        ContactMechanism.write([mechanism], {'active': False})
    return page.redirect('/account/profile', notice=NOTICE_PROFILE_SAVED)


def _address_values(address):
    return {
        'street': (address.street or '') if address else '',
        'postal_code': (address.postal_code or '') if address else '',
        'city': (address.city or '') if address else '',
        }


@route('/account/address/new', methods=('GET', 'POST'))
def address_new(page):
    return _address_form(page, None)


@route('/account/address/<int:address_id>', methods=('GET', 'POST'))
def address_edit(page, address_id):
    return _address_form(page, page.own('party.address', address_id))


def _address_form(page, address):
    Address = page.pool.get('party.address')
    if page.request.method == 'GET':
        return page.render('account_address.html', address=address,
            form=_address_values(address), errors={})
    form = page.request.form
    values = {
        'street': '\n'.join(
            ' '.join(l.split()) for l in (form.get('street') or '')
            .splitlines() if l.strip())[:STREET_LENGTH + 1],
        'postal_code': _clean(form, 'postal_code', POSTAL_CODE_LENGTH),
        'city': _clean(form, 'city', CITY_LENGTH),
        }
    errors = {}
    for name, length in [('street', STREET_LENGTH),
            ('postal_code', POSTAL_CODE_LENGTH), ('city', CITY_LENGTH)]:
        if not values[name]:
            errors[name] = _('msg_my_address_%s_required' % name)
        elif len(values[name]) > length:
            errors[name] = _('msg_my_too_long', length=length)
    if errors:
        return page.render('account_address.html',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, address=address,
            form=values, errors=errors, error=_('msg_my_form_errors'))
    if address is None:
        Address.create([dict(values, party=page.party.id)])
    else:
        Address.write([address], values)
    return page.redirect('/account/profile', notice=NOTICE_ADDRESS_SAVED)


# Consents
def _purposes(page):
    "The purposes the customer may grant or withdraw online"
    Purpose = page.pool.get('bol_air.gdpr.purpose')
    return Purpose.search([('legal_basis', '=', 'consent')],
        order=[('name', 'ASC'), ('id', 'ASC')])


@route('/account/consents', methods=('GET', 'POST'))
def consents(page):
    pool = page.pool
    Consent = pool.get('bol_air.gdpr.consent')
    purposes = _purposes(page)
    if page.request.method == 'POST':
        form = page.request.form
        try:
            purpose_id = int(form.get('purpose') or '')
        except ValueError:
            raise NotFound()
        purpose = {p.id: p for p in purposes}.get(purpose_id)
        status = form.get('status')
        if purpose is None or status not in {'given', 'withdrawn'}:
            raise NotFound()
        if status == 'given' and not purpose.current_text:
            raise NotFound()
        # Guard row first: a double click records one entry
        write_guard(pool.get('party.party'), [page.party])
        current = Consent.current_status([page.party.id], [purpose.id])
        if current.get((page.party.id, purpose.id)) != status:
            Consent.record(page.party, purpose, status, 'portal')
        return page.redirect('/account/consents', notice=(
                NOTICE_CONSENT_GIVEN if status == 'given'
                else NOTICE_CONSENT_WITHDRAWN))
    statuses = Consent.current_status(
        [page.party.id], [p.id for p in purposes])
    rows = [{
            'purpose': p,
            'given': statuses.get((page.party.id, p.id)) == 'given',
            'known': (page.party.id, p.id) in statuses,
            } for p in purposes]
    return page.render('account_consents.html', rows=rows)


# My data: access export, erasure request
def _open_request(page, kind):
    Request = page.pool.get('bol_air.gdpr.request')
    return Request.search([
            ('party', '=', page.party.id),
            ('kind', '=', kind),
            ('state', 'not in', REQUEST_CLOSED),
            ], limit=1)


@route('/account/data')
def data(page):
    return page.render('account_data.html',
        erasure_open=bool(_open_request(page, 'erasure')))


@route('/account/data/export', methods=('POST',))
def data_export(page):
    "The access export of the customer, as JSON or as a workbook"
    extension = page.request.form.get('format')
    if extension not in {'json', 'xlsx'}:
        raise NotFound()
    party = page.party
    with without_check_access(), inactive_records():
        sections = party.gdpr_access_sections()
    if extension == 'json':
        content = access_json(party, sections)
    else:
        content = access_xlsx(sections)
    stem = gettext(
        'bol_air_gdpr.msg_access_filename', code=party.code or party.id)
    return attachment(content, f'{stem}.{extension}', extension)


@route('/account/data/erasure', methods=('POST',))
def data_erasure(page):
    "Ask the DPO to erase the customer's data (nothing is erased here)"
    pool = page.pool
    Request = pool.get('bol_air.gdpr.request')
    # Guard row first: two clicks record one request
    write_guard(pool.get('party.party'), [page.party])
    already = bool(_open_request(page, 'erasure'))
    if not already:
        Request.create([{
                    'party': page.party.id,
                    'kind': 'erasure',
                    'channel': _('msg_my_request_channel'),
                    'details': _('msg_my_erasure_details',
                        email=page.user.email),
                    'dpo': None,
                    }])
    return page.render('account_erasure.html', already=already)


# Host a meeting
@route('/account/host', methods=('GET', 'POST'))
def host(page):
    pool = page.pool
    Lead = pool.get('bol_air.lead')
    Date = pool.get('ir.date')

    def open_lead():
        return Lead.search([
                ('party', '=', page.party.id),
                ('state', 'in', LEAD_OPEN_STATES),
                ], limit=1)

    if page.request.method == 'GET':
        return page.render('account_host.html',
            already=bool(open_lead()), done=False, errors={})
    form = page.request.form
    values = {
        'period': _clean(form, 'period', PERIOD_LENGTH),
        'message': (form.get('message') or '').strip()[:MESSAGE_LENGTH + 1],
        }
    errors = {}
    if not values['period']:
        errors['period'] = _('msg_my_host_period_required')
    elif len(values['period']) > PERIOD_LENGTH:
        errors['period'] = _('msg_my_too_long', length=PERIOD_LENGTH)
    if len(values['message']) > MESSAGE_LENGTH:
        errors['message'] = _('msg_my_too_long', length=MESSAGE_LENGTH)
    if errors:
        return page.render('account_host.html',
            status=HTTPStatus.UNPROCESSABLE_ENTITY, form=values,
            already=False, done=False, errors=errors,
            error=_('msg_my_form_errors'))
    # Guard row first: two clicks open one lead
    write_guard(pool.get('party.party'), [page.party])
    already = bool(open_lead())
    if not already:
        party = page.party
        today = Date.today()
        Lead.create([{
                    'company': _company(page).id,
                    'party': party.id,
                    'ambassador': (
                        party.ambassador.id if party.ambassador else None),
                    'source': 'portal',
                    'referrer': (
                        party.referrer.id if party.referrer else None),
                    'date': today,
                    'next_call_date': today,
                    'comment': _('msg_my_host_lead_comment',
                        period=values['period'],
                        message=values['message'] or '-'),
                    }])
    return page.render('account_host.html',
        already=already, done=not already, errors={})
