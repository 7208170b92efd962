# This file is part of bol_air_portal.
"""The shop: the catalogue of the products sold online, their pages and
pictures, the cart (the customer's draft order flagged as online), the
checkout (delivery address, vouchers, points) and the meeting link of the
"virtual guests".

Prices are tax included, computed by the CRM's order lines for the
customer (or for an anonymous visitor). Confirming goes through the
CRM's one path from an order to its one invoice (``Sale.invoice_once``).
"""
import functools
from email.message import EmailMessage
from http import HTTPStatus
from types import SimpleNamespace

from werkzeug.exceptions import NotFound

import trytond.config as config
from trytond.protocols.wrappers import Response
from trytond.sendmail import send_message_transactional
from trytond.tools.email_ import format_address
from trytond.transaction import Transaction

from bol_air_crm.exceptions import SaleMeetingError
from bol_air_crm.sale import CONFIRMED_SALE_STATES, write_guard
from bol_air_loyalty.exceptions import LoyaltyError, VoucherError

from ..exceptions import PortalError
from ..meeting import OPEN_STATES
from ..product import catalogue_prices as catalogue_prices_cache
from ..product import catalogue_shelf as catalogue_shelf_cache
from ..portal import _, Format, notice, route
from ..sale import new_token
from .account import loyalty_card

NOTICE_CART_ADDED = notice('cart_added')
NOTICE_CART_UPDATED = notice('cart_updated')
NOTICE_CART_REMOVED = notice('cart_removed')
NOTICE_DISCOUNT_APPLIED = notice('discount_applied')
NOTICE_ORDER_DONE = notice('order_done')
NOTICE_MEETING_JOINED = notice('meeting_joined')

MAX_QUANTITY = 99
MAX_ID = 2 ** 31
# The products of the catalogue (and only them)
SOLD_DOMAIN = [
    ('portal_sold', '=', True),
    ('salable', '=', True),
    ('active', '=', True),
    ]
ADDRESS_FIELDS = ['street', 'postal_code', 'city']
ADDRESS_MAX_LENGTH = 200


def shop_company(page):
    "The company that sells on the portal"
    Configuration = page.pool.get('bol_air.portal.configuration')
    company = Configuration(1).company
    if not company:
        raise NotFound()
    return company


def in_company(page):
    "The context of the orders: the portal's company"
    return Transaction().set_context(company=shop_company(page).id)


def customer(page):
    """The logged-in customer read in the company's context (her taxes,
    payment term and accounts are the company's)"""
    if page.party is None:
        return None
    return page.pool.get('party.party')(page.party.id)


def with_company(func):
    "Run the page in the context of the portal's company (prices, orders)"
    @functools.wraps(func)
    def wrapper(page, **kwargs):
        with in_company(page):
            return func(page, **kwargs)
    return wrapper


def to_id(value):
    "A positive record id from a form or a URL, or None"
    try:
        value = int(value)
    except (TypeError, ValueError):
        return None
    return value if 0 < value < MAX_ID else None


def parse_quantity(value, zero=False):
    "A quantity typed by the customer, or None when it is not one"
    try:
        quantity = int((value or '').strip())
    except ValueError:
        return None
    if (0 if zero else 1) <= quantity <= MAX_QUANTITY:
        return quantity
    return None


def sold_template(page, template_id):
    "The product sold online with this id, or 404"
    Template = page.pool.get('product.template')
    template_id = to_id(template_id)
    if template_id is None:
        raise NotFound()
    templates = Template.search(
        [('id', '=', template_id)] + SOLD_DOMAIN, limit=1)
    # Without a variant or a price it cannot be ordered (nor is it in the
    # catalogue)
    if (not templates or not template_product(templates[0])
            or templates[0].id not in catalogue_prices(page, templates)):
        raise NotFound()
    return templates[0]


def template_product(template):
    "The variant of the template that the portal sells"
    products = [p for p in template.products if p.active]
    return products[0] if products else None


def catalogue_prices(page, templates):
    """The tax-included price of one of each product for the customer (or
    an anonymous visitor), as an order line of the CRM gives it, kept in a
    cache per customer for the day. Return {template id: price} of the
    products that have one."""
    pool = page.pool
    Sale = pool.get('sale.sale')
    Line = pool.get('sale.line')
    Tax = pool.get('account.tax')
    Date = pool.get('ir.date')
    company = shop_company(page)
    party = customer(page)
    key = (company.id, party.id if party else None,
        Date.today().toordinal())
    prices = dict(catalogue_prices_cache.get(key) or {})
    missing = [t for t in templates if t.id not in prices]
    if missing:
        sale = Sale(
            party=party, invoice_party=None, company=company,
            currency=company.currency, sale_date=None)
        lines = {}
        for template in missing:
            product = template_product(template)
            if product:
                line = Line(
                    sale=sale, type='line', product=product, quantity=1,
                    unit=None, taxes=[], unit_price=None, company=company)
                line.on_change_product()
                lines[template.id] = line
        # The taxes of all lines read at once (their children included)
        taxes = {t.id: t for t in Tax.browse(sorted(
                    {t.id for l in lines.values() for t in l.taxes}))}
        for template in missing:
            line = lines.get(template.id)
            if line:
                line.taxes = [taxes[t.id] for t in line.taxes]
                prices[template.id] = line.unit_price_tax_included
            else:
                prices[template.id] = None
        catalogue_prices_cache.set(key, prices)
    return {t.id: prices[t.id] for t in templates
        if prices[t.id] is not None}


def current_cart(page, create=False):
    "The customer's open cart (created when asked)"
    pool = page.pool
    Sale = pool.get('sale.sale')
    Party = pool.get('party.party')
    domain = [
        ('party', '=', page.party.id),
        ('portal', '=', True),
        ('state', '=', 'draft'),
        ]
    carts = Sale.search(domain, limit=1)
    if carts or not create:
        return carts[0] if carts else None
    # Guard row first: two first additions at once make one cart (the
    # exclusion constraint on open carts is the backstop)
    write_guard(Party, [page.party])
    carts = Sale.search(domain, limit=1)
    if carts:
        return carts[0]
    company = shop_company(page)
    cart = Sale(
        party=customer(page), company=company, currency=company.currency,
        portal=True, portal_token=new_token())
    cart.on_change_party()
    cart.save()
    return cart


def cart_line(page, line_id):
    "A product or voucher line of the customer's open cart, or 404"
    return page.own('sale.line', line_id, [
            ('sale.party', '=', page.party.id),
            ('sale.portal', '=', True),
            ('sale.state', '=', 'draft'),
            ('type', '=', 'line'),
            ])


def refresh_cart(page, cart):
    """After a change of the lines: the vouchers are deducted again (never
    more than the order) and the checkout form of before is no longer
    valid (new token)."""
    pool = page.pool
    Sale = pool.get('sale.sale')
    Line = pool.get('sale.line')
    cart = Sale(cart.id)
    voucher_lines = cart.portal_voucher_lines
    if voucher_lines:
        vouchers = [l.voucher for l in voucher_lines]
        Line.delete(voucher_lines)
        for voucher in vouchers:
            cart = Sale(cart.id)
            try:
                cart.apply_voucher(voucher)
            except VoucherError:
                # Nothing left to deduct: the voucher stays the customer's
                pass
    cart = Sale(cart.id)
    cart.portal_touch()
    cart.save()
    return cart


def render_cart(page, cart, status=HTTPStatus.OK, error=None):
    return page.render(
        'cart.html', status=status, error=error, cart=cart,
        money=Format(page.pool).money_in(cart.currency if cart else None))


# Catalogue
def catalogue_shelf(page):
    """The products sold online, by name, and their categories, by name, as
    {'products': [(id, name, has a picture, category ids)], 'categories':
    [(id, name)]}, kept in a cache per company and language"""
    pool = page.pool
    Template = pool.get('product.template')
    Category = pool.get('product.category')
    key = (shop_company(page).id, Transaction().language)
    shelf = catalogue_shelf_cache.get(key)
    if shelf is None:
        sold = Template.search(SOLD_DOMAIN, order=[('name', 'ASC')])
        # The categories read in one list (their names at once)
        categories = sorted(Category.browse(sorted(
                    {c.id for t in sold for c in t.categories})),
            key=lambda c: c.rec_name)
        shelf = catalogue_shelf_cache.set(key, {
                'products': [
                    (t.id, t.name, bool(t.portal_image_type),
                        tuple(c.id for c in t.categories))
                    for t in sold],
                'categories': [(c.id, c.rec_name) for c in categories],
                })
    return shelf


@route('/catalogue', login=False)
@with_company
def catalogue(page):
    Template = page.pool.get('product.template')
    shelf = catalogue_shelf(page)
    categories = [SimpleNamespace(id=i, rec_name=name)
        for i, name in shelf['categories']]
    category = None
    value = page.request.args.get('category')
    if value:
        category_id = to_id(value)
        category = next(
            (c for c in categories if c.id == category_id), None)
        if category is None:
            raise NotFound()
    products = [
        SimpleNamespace(id=i, name=name, portal_image_type=picture)
        for i, name, picture, category_ids in shelf['products']
        if category is None or category.id in category_ids]
    prices = catalogue_prices(
        page, Template.browse([p.id for p in products]))
    company = shop_company(page)
    return page.render(
        'catalogue.html', templates=[p for p in products if p.id in prices],
        prices=prices, categories=categories, category=category,
        money=Format(page.pool).money_in(company.currency))


@route('/product/<int:template_id>', login=False)
@with_company
def product(page, template_id):
    return render_product(page, sold_template(page, template_id))


def render_product(page, template, status=HTTPStatus.OK, error=None):
    price = catalogue_prices(page, [template])[template.id]
    company = shop_company(page)
    return page.render(
        'product.html', status=status, error=error, product=template,
        price=price, max_quantity=MAX_QUANTITY,
        money=Format(page.pool).money_in(company.currency))


@route('/product/<int:template_id>/image', login=False)
@with_company
def product_image(page, template_id):
    template = sold_template(page, template_id)
    if not template.portal_image or not template.portal_image_type:
        raise NotFound()
    # A picture needs no form token: no cookie on a cacheable answer
    page.cookies = []
    response = Response(
        bytes(template.portal_image), HTTPStatus.OK,
        content_type=template.portal_image_type)
    response.headers['Cache-Control'] = 'public, max-age=86400'
    changed = template.write_date or template.create_date
    response.set_etag('%s-%s' % (
            template.id, int(changed.timestamp()) if changed else 0))
    return response.make_conditional(page.request)


# Cart
@route('/cart')
@with_company
def cart(page):
    return render_cart(page, current_cart(page))


@route('/cart/add', methods=('POST',))
@with_company
def cart_add(page):
    pool = page.pool
    Line = pool.get('sale.line')
    form = page.request.form
    template = sold_template(page, form.get('product'))
    quantity = parse_quantity(form.get('quantity'))
    if quantity is None:
        return render_product(page, template, status=HTTPStatus.BAD_REQUEST,
            error=_('msg_shop_quantity_invalid', max=MAX_QUANTITY))
    product = template_product(template)
    cart = current_cart(page, create=True)
    lines = [l for l in cart.portal_product_lines if l.product == product]
    if lines:
        line = lines[0]
        if line.quantity + quantity > MAX_QUANTITY:
            page.rollback()
            return render_product(
                page, template, status=HTTPStatus.BAD_REQUEST,
                error=_('msg_shop_quantity_invalid', max=MAX_QUANTITY))
        line.quantity += quantity
        line.on_change_quantity()
    else:
        line = Line(
            sale=cart, type='line', product=product, quantity=quantity,
            unit=None, taxes=[], unit_price=None,
            sequence=max((l.sequence or 0 for l in cart.lines),
                default=0) + 1)
        line.on_change_product()
    line.save()
    refresh_cart(page, cart)
    return page.redirect('/cart', notice=NOTICE_CART_ADDED)


@route('/cart/line/<int:line_id>', methods=('POST',))
@with_company
def cart_line_quantity(page, line_id):
    pool = page.pool
    Line = pool.get('sale.line')
    line = cart_line(page, line_id)
    cart = line.sale
    quantity = parse_quantity(page.request.form.get('quantity'), zero=True)
    if quantity is None or line.voucher:
        return render_cart(page, cart, status=HTTPStatus.BAD_REQUEST,
            error=_('msg_shop_quantity_invalid', max=MAX_QUANTITY))
    if quantity:
        line.quantity = quantity
        line.on_change_quantity()
        line.save()
    else:
        Line.delete([line])
    refresh_cart(page, cart)
    return page.redirect('/cart',
        notice=NOTICE_CART_UPDATED if quantity else NOTICE_CART_REMOVED)


@route('/cart/line/<int:line_id>/remove', methods=('POST',))
@with_company
def cart_line_remove(page, line_id):
    pool = page.pool
    Line = pool.get('sale.line')
    line = cart_line(page, line_id)
    cart = line.sale
    if line.voucher:
        # Taken off the order: the voucher stays whole for later
        Line.delete([line])
        cart = page.pool.get('sale.sale')(cart.id)
        cart.portal_touch()
        cart.save()
    else:
        Line.delete([line])
        refresh_cart(page, cart)
    return page.redirect('/cart', notice=NOTICE_CART_REMOVED)


# Checkout
def render_checkout(page, cart, status=HTTPStatus.OK, error=None):
    pool = page.pool
    Address = pool.get('party.address')
    Step = pool.get('bol_air.loyalty.redemption.step')
    addresses = [a for a in Address.search([('party', '=', page.party.id)])
        if a.full_address.strip()]
    # A deactivated card is a card (no invitation to join) without points
    account = loyalty_card(page)
    balance = account.balance if account and account.active else 0
    steps = Step.search([('points', '<=', balance)]) if balance else []
    return page.render(
        'checkout.html', status=status, error=error, cart=cart,
        addresses=addresses, balance=balance, steps=steps,
        has_card=account is not None,
        money=Format(page.pool).money_in(cart.currency))


@route('/checkout')
@with_company
def checkout(page):
    cart = current_cart(page)
    if not cart or not cart.portal_product_lines:
        return page.redirect('/cart')
    return render_checkout(page, cart)


def checkout_address(page, form):
    "The delivery address chosen, or the new one typed"
    pool = page.pool
    Address = pool.get('party.address')
    Country = pool.get('country.country')
    value = form.get('address') or ''
    if value != 'new':
        if not value:
            raise PortalError(_('msg_checkout_address_missing'))
        address = page.own('party.address', value)
        if not address.full_address.strip():
            raise PortalError(_('msg_checkout_address_missing'))
        return address
    values = {f: (form.get(f) or '').strip() for f in ADDRESS_FIELDS}
    if not all(values.values()):
        raise PortalError(_('msg_checkout_address_incomplete'))
    if any(len(v) > ADDRESS_MAX_LENGTH for v in values.values()):
        raise PortalError(_('msg_checkout_address_too_long',
                max=ADDRESS_MAX_LENGTH))
    france = Country.search([('code', '=', 'FR')], limit=1)
    address = Address(party=page.party, country=france[0] if france else None,
        **values)
    address.save()
    return address


def apply_discounts(page, cart, form):
    """Deduct the voucher whose code was typed and the voucher the points
    chosen are exchanged for"""
    pool = page.pool
    Sale = pool.get('sale.sale')
    Voucher = pool.get('bol_air.voucher')
    Account = pool.get('bol_air.loyalty.account')
    Step = pool.get('bol_air.loyalty.redemption.step')
    applied = False
    code = (form.get('voucher_code') or '').strip()
    if code:
        voucher = Voucher.find_code(code, page.party)
        Sale(cart.id).apply_voucher(voucher)
        applied = True
    step_id = form.get('points_step')
    if step_id:
        steps = Step.search([('id', '=', to_id(step_id) or 0)])
        account = Account.for_parties([page.party]).get(page.party.id)
        if not steps or not account:
            raise PortalError(_('msg_checkout_points_invalid'))
        voucher = account.redeem_points(steps[0])
        Sale(cart.id).apply_voucher(voucher)
        applied = True
    return applied


@route('/checkout', methods=('POST',))
@with_company
def checkout_submit(page):
    pool = page.pool
    Sale = pool.get('sale.sale')
    form = page.request.form
    cart = page.own('sale.sale', form.get('cart'), [
            ('party', '=', page.party.id),
            ('portal', '=', True),
            ])
    # Guard row first: the same form sent twice, even at once, waits here
    # (a plain row lock, without the replays of Tryton's locks) and is
    # retried when the first commits: it finds the order confirmed
    write_guard(Sale, [cart])
    cart = Sale(cart.id)
    if cart.state != 'draft':
        if cart.state in CONFIRMED_SALE_STATES:
            return page.redirect(f'/order/{cart.id}/done')
        raise NotFound()
    if form.get('token') != cart.portal_token:
        return render_checkout(page, cart, status=HTTPStatus.CONFLICT,
            error=_('msg_checkout_cart_changed'))
    confirm = form.get('action') == 'confirm'
    try:
        applied = apply_discounts(page, cart, form)
        if not confirm:
            cart = Sale(cart.id)
            cart.portal_touch()
            cart.save()
            return page.redirect('/checkout',
                notice=NOTICE_DISCOUNT_APPLIED if applied else None)
        address = checkout_address(page, form)
        cart = Sale(cart.id)
        if not cart.portal_product_lines:
            raise PortalError(_('msg_checkout_cart_empty'))
        cart.shipment_address = address
        if not cart.invoice_address:
            cart.invoice_address = address
        cart.save()
        Sale.quote([cart])
        Sale.confirm([cart])
        # The CRM's one path to the one invoice, in its own transaction once
        # the order is committed (right after this page without a queue
        # worker): invoicing takes Tryton's locks, which start a
        # transaction again, so it does not hold the order's row meanwhile
        Sale.__queue__.invoice_once([cart])
    except (PortalError, VoucherError, LoyaltyError) as exception:
        page.rollback()
        return render_checkout(page, Sale(cart.id),
            status=HTTPStatus.BAD_REQUEST, error=exception.message)
    send_confirmation(page, Sale(cart.id))
    return page.redirect(f'/order/{cart.id}/done', notice=NOTICE_ORDER_DONE)


def order_invoices(page, order):
    Link = page.pool.get('bol_air.sale.invoice')
    return Link.invoices([order])


def send_confirmation(page, order):
    "The French confirmation e-mail, sent when the transaction commits"
    email = page.user.email
    if not email:
        return
    money = Format(page.pool).money_in(order.currency)
    lines = '\n'.join(
        _('msg_order_mail_line',
            quantity=int(l.quantity) if l.quantity == int(l.quantity)
            else l.quantity,
            product=l.product.name if not l.voucher
            else l.description,
            amount=money(l.amount_tax_included))
        for l in order.lines if l.type == 'line')
    address = order.shipment_address
    msg = EmailMessage()
    msg['From'] = config.get('email', 'from')
    msg['To'] = format_address(email, order.party.name)
    msg['Subject'] = _('msg_order_mail_subject', number=order.number)
    msg.set_content(_('msg_order_mail_body',
            name=order.party.name,
            number=order.number,
            lines=lines,
            total=money(order.total_amount),
            address=address.full_address if address else '',
            url=page.absolute_url(f'/order/{order.id}/done')))
    send_message_transactional(msg)


@route('/order/<int:order_id>/done')
@with_company
def order_done(page, order_id):
    order = page.own('sale.sale', order_id, [
            ('party', '=', page.party.id),
            ('portal', '=', True),
            ('state', 'in', CONFIRMED_SALE_STATES),
            ])
    return page.render(
        'order_done.html', order=order, invoices=order_invoices(page, order),
        money=Format(page.pool).money_in(order.currency))


# Virtual guests
def shared_meeting(page, token):
    "The meeting of the link, or 404 (a draft meeting has no link yet)"
    Meeting = page.pool.get('bol_air.meeting')
    if not token or len(token) > 100:
        raise NotFound()
    meetings = Meeting.search([('portal_token', '=', token)], limit=1)
    if not meetings or meetings[0].state == 'draft':
        raise NotFound()
    return meetings[0]


@route('/meeting/<token>', methods=('GET', 'POST'))
@with_company
def meeting(page, token):
    meeting = shared_meeting(page, token)
    values = dict(meeting=meeting, closed=meeting.state not in OPEN_STATES)
    if values['closed']:
        return page.render(
            'meeting.html', status=HTTPStatus.GONE, cart=None, **values)
    if page.request.method == 'GET':
        return page.render(
            'meeting.html', cart=current_cart(page), **values)
    try:
        cart = current_cart(page, create=True)
        if cart.meeting != meeting:
            cart.meeting = meeting
            cart.portal_touch()
            cart.save()
    except SaleMeetingError as exception:
        page.rollback()
        return page.render('meeting.html', status=HTTPStatus.BAD_REQUEST,
            cart=current_cart(page), error=exception.message, **values)
    return page.redirect('/catalogue', notice=NOTICE_MEETING_JOINED)
