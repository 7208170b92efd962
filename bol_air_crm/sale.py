# This file is part of bol_air_crm.
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.modules.product import price_digits
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access

from .exceptions import SaleInvoiceError, SaleMeetingError

CONFIRMED_SALE_STATES = ['confirmed', 'processing', 'done']


def write_guard(Model, records):
    """Write the rows of records (or ids) before anything else (the guard
    row).

    On PostgreSQL a concurrent transaction that writes the same rows waits,
    then fails with a serialization error and is retried: whatever it read
    before is read again after this transaction committed."""
    ids = list(map(int, records))
    if not ids:
        return
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.update(
            [table.write_date], [table.write_date],
            where=fields.SQL_OPERATORS['in'](table.id, ids)))


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The home meeting where the order was taken.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.meeting, Index.Range()), where=t.meeting != None))  # noqa: E711,E501

    @classmethod
    def crm_domain(cls):
        """The orders taken by the CRM: those of a meeting. Other channels
        (the portal) extend it."""
        return [('meeting', '!=', None)]

    @classmethod
    def check_modification(cls, mode, sales, values=None, external=False):
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        super().check_modification(
            mode, sales, values=values, external=external)
        if mode == 'create':
            for sale in sales:
                if sale.meeting:
                    sale.check_meeting_open(sale.meeting)
        elif mode == 'write' and values and values.get('meeting'):
            meeting = Meeting(values['meeting'])
            for sale in sales:
                sale.check_meeting_open(meeting)

    def check_meeting_open(self, meeting):
        "No order may be added to a cancelled or closed meeting"
        if meeting.state in {'cancelled', 'closed'}:
            raise SaleMeetingError(gettext(
                    'bol_air_crm.msg_sale_meeting_state',
                    sale=self.rec_name,
                    meeting=meeting.rec_name,
                    state=meeting.state_string))

    @classmethod
    def validate_fields(cls, sales, field_names):
        super().validate_fields(sales, field_names)
        if field_names & {'meeting', 'party', 'state'}:
            cls.check_meeting_buyer(sales)

    @classmethod
    def check_meeting_buyer(cls, sales):
        "Each buyer has one order at a meeting"
        # Orders on closed or cancelled meetings are refused on their own
        meetings = {s.meeting for s in sales
            if s.meeting and s.meeting.state not in {'closed', 'cancelled'}}
        if not meetings:
            return
        orders = cls.search([
                ('meeting', 'in', [m.id for m in meetings]),
                ('state', '!=', 'cancelled'),
                ], order=[('id', 'ASC')])
        seen = {}
        for order in orders:
            key = (order.meeting.id, order.party.id)
            if key in seen:
                raise SaleMeetingError(gettext(
                        'bol_air_crm.msg_sale_meeting_buyer_unique',
                        party=order.party.rec_name,
                        meeting=order.meeting.rec_name,
                        sale=seen[key].rec_name))
            seen[key] = order

    @classmethod
    def on_modification(cls, mode, sales, field_names=None):
        super().on_modification(mode, sales, field_names=field_names)
        if mode == 'create' or (
                mode == 'write' and field_names & {'party', 'meeting'}):
            cls.add_meeting_guests(sales)

    @classmethod
    def add_meeting_guests(cls, sales):
        "Whoever orders at a meeting without being its host is its guest"
        pool = Pool()
        Guest = pool.get('bol_air.meeting.guest')
        to_create = {}
        for sale in sales:
            meeting = sale.meeting
            if not meeting or sale.party == meeting.host:
                continue
            if sale.party not in {g.party for g in meeting.guests}:
                to_create[meeting.id, sale.party.id] = {
                    'meeting': meeting.id,
                    'party': sale.party.id,
                    'attended': True,
                    }
        if to_create:
            Guest.create(list(to_create.values()))

    def _get_invoice(self):
        invoice = super()._get_invoice()
        invoice.meeting = self.meeting
        return invoice

    @classmethod
    def _process_invoice(cls, sales):
        pool = Pool()
        Link = pool.get('bol_air.sale.invoice')
        once = [s for s in sales if s.invoice_method == 'order']
        # Guard rows first: two processings of one order never overlap
        write_guard(cls, once)
        super()._process_invoice(sales)
        with without_check_access():
            Link.record(once)

    @classmethod
    def lock_invoicing(cls, sales, post=True):
        """Take at once, before any work, the locks that processing these
        orders and posting their invoices will ask for: the orders, and
        when posting, the strict sequences numbering the invoices and their
        moves and the journal periods still to create.

        Tryton 8 takes a lock by starting the transaction again with it,
        so each lock met on the way costs a replay of all the work done
        before it: asked for here, they cost a replay of nothing. Only an
        optimisation: a lock not foreseen here is still taken by Tryton."""
        pool = Pool()
        Date = pool.get('ir.date')
        Period = pool.get('account.period')
        Invoice = pool.get('account.invoice')
        JournalPeriod = pool.get('account.journal.period')
        Sequence = pool.get('ir.sequence.strict')
        cls.lock(sales)
        if not post:
            return
        # Both numberings: an order's invoice is a credit note when it
        # only takes back, and its amounts are not computed yet
        to_number = {(s.company, sequence_type)
            for s in sales
            if s.invoice_method == 'order'
            and s.invoice_state in {'none', 'pending'}
            for sequence_type in ['invoice', 'credit_note']}
        sequences, journal_periods = set(), set()
        for company, sequence_type in to_number:
            with Transaction().set_context(company=company.id):
                today = Date.today()
            invoice = Invoice(
                company=company, type='out', invoice_date=today,
                accounting_date=None, sequence_type_cache=sequence_type)
            invoice.set_journal()
            sequence, _ = invoice._number_sequence()
            period = Period.find(company, date=today)
            sequences.update([sequence, period.move_sequence_used])
            if invoice.journal:
                journal_periods.add((invoice.journal.id, period.id))
        strict = [s for s in sequences
            if s and s.__name__ == Sequence.__name__]
        if strict:
            Sequence.lock(strict)
        if journal_periods and len(JournalPeriod.search(['OR'] + [
                        [('journal', '=', j), ('period', '=', p)]
                        for j, p in journal_periods])) < len(journal_periods):
            JournalPeriod.lock()

    @classmethod
    def invoice_once(cls, sales, post=None):
        """The one path from confirmed orders to customer invoices, shared
        by meetings and the portal: each order gets exactly one invoice for
        its amount, posted unless the CRM configuration says otherwise.
        Safe to call again: what is already invoiced is left alone.
        Return the invoices of the orders."""
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        Invoice = pool.get('account.invoice')
        Link = pool.get('bol_air.sale.invoice')
        sales = [s for s in sales if s.state in CONFIRMED_SALE_STATES]
        if not sales:
            return []
        if post is None:
            post = Configuration(1).post_invoices
        with without_check_access():
            sales = cls.browse(sales)
            cls.lock_invoicing(sales, post=post)
            # _process_invoice writes the guard rows of the orders and
            # records the one invoice of each
            cls.process(sales)
            invoices = Link.invoices(sales)
            if post:
                to_post = [i for i in invoices
                    if i.state in {'draft', 'validated'}]
                if to_post:
                    Invoice.post(to_post)
        return invoices

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('meeting', None)
        return super().copy(sales, default=default)


class SaleLine(metaclass=PoolMeta):
    __name__ = 'sale.line'

    unit_price_tax_included = fields.Function(Monetary(
            "Unit Price Tax Included", digits='currency',
            currency='currency',
            states={
                'invisible': Eval('type') != 'line',
                'readonly': Eval('sale_state') != 'draft',
                },
            help="The price the customer reads in the catalogue."),
        'on_change_with_unit_price_tax_included',
        setter='set_unit_price_tax_included')
    amount_tax_included = fields.Function(Monetary(
            "Amount Tax Included", digits='currency', currency='currency',
            states={
                'invisible': Eval('type') != 'line',
                }),
        'on_change_with_amount_tax_included')

    @fields.depends(
        'type', 'unit_price', 'taxes', 'sale', '_parent_sale.currency',
        '_parent_sale.sale_date')
    def on_change_with_unit_price_tax_included(self, name=None):
        pool = Pool()
        Tax = pool.get('account.tax')
        Date = pool.get('ir.date')
        if self.type != 'line' or self.unit_price is None:
            return None
        date = (self.sale.sale_date if self.sale else None) or Date.today()
        taxes = Tax.compute(list(self.taxes or []), self.unit_price, 1, date)
        price = self.unit_price + sum(
            (t['amount'] for t in taxes), Decimal(0))
        if self.sale and self.sale.currency:
            return self.sale.currency.round(price)
        return price.quantize(Decimal('0.01'))

    @fields.depends(
        'type', 'quantity',
        methods=['on_change_with_unit_price_tax_included'])
    def on_change_with_amount_tax_included(self, name=None):
        price = self.on_change_with_unit_price_tax_included()
        if price is None:
            return None
        return (Decimal(str(self.quantity or 0)) * price).quantize(
            Decimal('0.01'))

    @fields.depends(
        'unit_price_tax_included', 'taxes', 'sale', '_parent_sale.sale_date',
        methods=['on_change_with_amount'])
    def on_change_unit_price_tax_included(self):
        if self.unit_price_tax_included is not None:
            self.unit_price = self._untaxed_unit_price(
                self.unit_price_tax_included)
            self.amount = self.on_change_with_amount()

    def _untaxed_unit_price(self, price):
        pool = Pool()
        Tax = pool.get('account.tax')
        Date = pool.get('ir.date')
        date = (self.sale.sale_date if self.sale else None) or Date.today()
        untaxed = Tax.reverse_compute(price, list(self.taxes or []), date)
        return untaxed.quantize(Decimal(1).scaleb(-price_digits[1]))

    @classmethod
    def set_unit_price_tax_included(cls, lines, name, value):
        if value is None:
            return
        to_save = []
        for line in lines:
            line.unit_price = line._untaxed_unit_price(value)
            to_save.append(line)
        cls.save(to_save)


class SaleInvoice(ModelSQL, ModelView):
    "The written proof that an order has its one invoice"
    __name__ = 'bol_air.sale.invoice'
    __string__ = "Order Invoice"

    sale = fields.Many2One(
        'sale.sale', "Order", required=True, ondelete='RESTRICT')
    invoice = fields.Many2One(
        'account.invoice', "Invoice", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('sale_unique', Unique(t, t.sale),
                'bol_air_crm.msg_sale_invoice_unique'),
            ('invoice_unique', Unique(t, t.invoice),
                'bol_air_crm.msg_sale_invoice_unique'),
            ]

    @classmethod
    def record(cls, sales):
        """Record the live invoice of each order; refuse a second one.
        An order whose invoice was cancelled and made again points to the
        new one."""
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        if not sales:
            return
        sale_ids = [s.id for s in sales]
        lines = InvoiceLine.search([
                ('origin.sale', 'in', sale_ids, 'sale.line'),
                ('invoice.state', '!=', 'cancelled'),
                ])
        live = defaultdict(set)
        for line in lines:
            live[line.origin.sale.id].add(line.invoice.id)
        links = {l.sale.id: l for l in cls.search([('sale', 'in', sale_ids)])}
        to_create, to_save = [], []
        for sale in sales:
            invoices = live.get(sale.id, set())
            if len(invoices) > 1:
                raise SaleInvoiceError(gettext(
                        'bol_air_crm.msg_sale_second_invoice',
                        sale=sale.rec_name))
            if not invoices:
                continue
            invoice, = invoices
            link = links.get(sale.id)
            if link is None:
                to_create.append({'sale': sale.id, 'invoice': invoice})
            elif link.invoice.id != invoice:
                if link.invoice.state != 'cancelled':
                    raise SaleInvoiceError(gettext(
                            'bol_air_crm.msg_sale_second_invoice',
                            sale=sale.rec_name))
                link.invoice = invoice
                to_save.append(link)
        if to_create:
            cls.create(to_create)
        if to_save:
            cls.save(to_save)

    @classmethod
    def invoices(cls, sales):
        "Return the invoices of the orders"
        links = cls.search([('sale', 'in', [s.id for s in sales])])
        return [l.invoice for l in links]
