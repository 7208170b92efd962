# This file is part of bol_air_crm.
import functools
from collections import defaultdict
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, Unique, Workflow, fields)
from trytond.modules.company.model import employee_field
from trytond.pool import Pool
from trytond.pyson import Bool, Eval, If
from trytond.transaction import Transaction, without_check_access

from .exceptions import MeetingError
from .sale import CONFIRMED_SALE_STATES, write_guard

STATES = [
    ('draft', "Draft"),
    ('planned', "Planned"),
    ('held', "Held"),
    ('closed', "Closed"),
    ('cancelled', "Cancelled"),
    ]
# One colour per ambassador in the shared calendar
CALENDAR_COLORS = [
    '#c8e6c9', '#bbdefb', '#f8bbd0', '#ffe0b2', '#e1bee7', '#b2ebf2']


def require_state(*states, message):
    """Refuse, with a clear message, a button pressed on meetings that are
    not in one of the states (the workflow would silently skip them)."""
    def decorator(func):
        @functools.wraps(func)
        def wrapper(cls, meetings, *args, **kwargs):
            for meeting in meetings:
                if meeting.state not in states:
                    raise MeetingError(gettext(
                            message, meeting=meeting.rec_name,
                            state=meeting.state_string))
            return func(cls, meetings, *args, **kwargs)
        return wrapper
    return decorator


class Meeting(Workflow, ModelSQL, ModelView):
    __name__ = 'bol_air.meeting'
    __string__ = "Meeting"
    _rec_name = 'number'

    _states = {
        'readonly': Eval('state').in_(['closed', 'cancelled']),
        }

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': Eval('state') != 'draft',
            })
    number = fields.Char("Number", readonly=True)
    host = fields.Many2One(
        'party.party', "Host", ondelete='RESTRICT',
        states={
            'readonly': Eval('state') != 'draft',
            'required': Eval('state') != 'draft',
            },
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The customer who receives the meeting at home.")
    ambassador = employee_field(
        "Ambassador", states=['held', 'closed', 'cancelled'])
    date = fields.DateTime(
        "Date", states={
            'readonly': _states['readonly'],
            'required': Eval('state') != 'draft',
            })
    end_date = fields.DateTime(
        "End", states=_states,
        domain=[
            If(Bool(Eval('end_date')) & Bool(Eval('date')),
                ('end_date', '>=', Eval('date')),
                ()),
            ])
    address = fields.Many2One(
        'party.address', "Address", ondelete='RESTRICT',
        domain=[
            ('party', '=', Eval('host', -1)),
            ],
        states=_states,
        help="Where the meeting takes place (the host's address by default).")
    state = fields.Selection(STATES, "State", readonly=True, required=True,
        sort=False)
    state_string = state.translated('state')
    guests = fields.One2Many(
        'bol_air.meeting.guest', 'meeting', "Guests", states=_states)
    sales = fields.One2Many(
        'sale.sale', 'meeting', "Orders",
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        add_remove=[
            ('meeting', '=', None),
            ],
        states={
            'readonly': Eval('state').in_(['closed', 'cancelled']),
            })
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    sales_amount = fields.Function(
        fields.Numeric(
            "Sales", digits=(16, 2),
            help="Tax-included total of the meeting's confirmed orders."),
        'get_amounts')
    reward_rate = fields.Numeric(
        "Reward Rate", digits=(1, 4), required=True,
        domain=[
            ('reward_rate', '>=', 0),
            ('reward_rate', '<=', 1),
            ],
        states={
            'readonly': Eval('state').in_(['closed', 'cancelled']),
            },
        help="Share of the sales given to the host (fixed at closing).")
    reward_includes_host = fields.Boolean(
        "Host's Order in Reward",
        states={
            'readonly': Eval('state').in_(['closed', 'cancelled']),
            },
        help="Count the host's own order in the sales her reward is "
        "computed on.")
    host_reward = fields.Function(
        fields.Numeric(
            "Host Reward", digits=(16, 2),
            help="Purchase voucher earned by the host."),
        'get_amounts')
    closed_sales_amount = fields.Numeric(
        "Sales at Closing", digits=(16, 2), readonly=True,
        help="Tax-included total of the confirmed orders when the meeting "
        "was closed.")
    reward_base = fields.Numeric(
        "Reward Base at Closing", digits=(16, 2), readonly=True,
        help="Tax-included total of the orders counted for the host's "
        "reward when the meeting was closed.")
    credited_amount = fields.Function(
        fields.Numeric(
            "Credited", digits=(16, 2),
            help="Tax-included total of the posted credit notes on the "
            "meeting's invoices."),
        'get_amounts')
    invoices = fields.Function(
        fields.Many2Many(
            'account.invoice', None, None, "Invoices",
            help="The invoices and credit notes of the meeting's orders."),
        'get_invoices')
    guest_count = fields.Function(
        fields.Integer("Guests"), 'get_guest_count')
    calendar_color = fields.Function(
        fields.Char("Colour"), 'get_calendar_color')
    notes = fields.Text("Notes")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.date, Index.Range())),
                Index(t, (t.host, Index.Range())),
                Index(
                    t, (t.state, Index.Equality(cardinality='low')),
                    where=t.state.in_(['draft', 'planned', 'held'])),
                })
        cls._order = [
            ('date', 'DESC NULLS FIRST'),
            ('id', 'DESC'),
            ]
        cls._transitions |= {
            ('draft', 'planned'),
            ('planned', 'held'),
            ('held', 'closed'),
            ('draft', 'cancelled'),
            ('planned', 'cancelled'),
            ('planned', 'draft'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'draft': {
                    'invisible': ~Eval('state').in_(['planned', 'cancelled']),
                    'icon': If(Eval('state') == 'cancelled',
                        'tryton-undo', 'tryton-back'),
                    'depends': ['state'],
                    },
                'plan': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'hold': {
                    'invisible': Eval('state') != 'planned',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'close': {
                    'invisible': Eval('state') != 'held',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(['draft', 'planned']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_state():
        return 'draft'

    @classmethod
    def default_ambassador(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_reward_rate(cls):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        return Configuration(1).host_reward_rate

    @classmethod
    def default_reward_includes_host(cls):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        return bool(Configuration(1).reward_includes_host)

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @fields.depends('host', 'address')
    def on_change_host(self):
        if self.host:
            if not self.address or self.address.party != self.host:
                self.address = self.host.address_get()
        else:
            self.address = None

    def get_rec_name(self, name):
        items = [self.number or str(self.id)]
        if self.host:
            items.append(self.host.rec_name)
        return ' - '.join(items)

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('host.rec_name', operator, operand, *extra),
            ]

    @classmethod
    def get_amounts(cls, meetings, names):
        """Before closing, from the confirmed orders; after, from the
        amounts fixed at closing less the posted credit notes."""
        credited, credited_base = cls._credited_amounts(meetings)
        result = {
            'sales_amount': {},
            'host_reward': {},
            'credited_amount': credited,
            }
        for meeting in meetings:
            if meeting.state == 'closed' and meeting.reward_base is not None:
                amount = meeting.closed_sales_amount - credited[meeting.id]
                base = meeting.reward_base - credited_base[meeting.id]
            else:
                amount, base = meeting._live_amounts()
            result['sales_amount'][meeting.id] = amount
            result['host_reward'][meeting.id] = (
                max(base, Decimal(0)) * (meeting.reward_rate or 0)).quantize(
                Decimal('0.01'))
        return {n: result[n] for n in names}

    def _live_amounts(self):
        "Return the total of the confirmed orders and the reward base"
        amount = base = Decimal(0)
        for sale in self.confirmed_sales:
            amount += sale.total_amount
            if self.reward_includes_host or sale.party != self.host:
                base += sale.total_amount
        return amount, base

    @classmethod
    def _credited_amounts(cls, meetings):
        """Return the tax-included totals of the posted credit notes on the
        invoices of the meetings: all, and those on orders counted for the
        host's reward."""
        pool = Pool()
        InvoiceLine = pool.get('account.invoice.line')
        credited = defaultdict(Decimal)
        credited_base = defaultdict(Decimal)
        closed = {m.id: m for m in meetings if m.state == 'closed'}
        if not closed:
            return credited, credited_base
        lines = InvoiceLine.search([
                ('invoice.meeting', 'in', list(closed)),
                ('invoice.type', '=', 'out'),
                ('invoice.state', 'in', ['posted', 'paid']),
                ('origin', 'like', 'account.invoice.line,%'),
                ])
        credit_notes = {}
        for line in lines:
            credit_notes.setdefault(line.invoice, line.origin.invoice)
        sales = {}
        for meeting in closed.values():
            for sale in meeting.sales:
                sales[sale.id] = sale
        origins = {}
        if credit_notes:
            for line in InvoiceLine.search([
                        ('invoice', 'in', [
                                i.id for i in credit_notes.values()]),
                        ('origin', 'like', 'sale.line,%'),
                        ]):
                origins[line.invoice.id] = line.origin.sale
        for credit_note, invoice in credit_notes.items():
            meeting = closed[credit_note.meeting.id]
            amount = -credit_note.total_amount
            credited[meeting.id] += amount
            sale = origins.get(invoice.id)
            if (sale and (meeting.reward_includes_host
                        or sale.party != meeting.host)):
                credited_base[meeting.id] += amount
        return credited, credited_base

    @classmethod
    def get_invoices(cls, meetings, name):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoices = defaultdict(list)
        for invoice in Invoice.search([
                    ('meeting', 'in', [m.id for m in meetings]),
                    ], order=[('id', 'ASC')]):
            invoices[invoice.meeting.id].append(invoice.id)
        return {m.id: invoices[m.id] for m in meetings}

    @property
    def confirmed_sales(self):
        return [s for s in self.sales if s.state in CONFIRMED_SALE_STATES]

    @classmethod
    def get_guest_count(cls, meetings, name):
        return {m.id: len(m.guests) for m in meetings}

    def get_calendar_color(self, name):
        if self.ambassador:
            return CALENDAR_COLORS[self.ambassador.id % len(CALENDAR_COLORS)]

    @classmethod
    def _new_number(cls):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        return Configuration(1).meeting_sequence.get()

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            values['number'] = cls._new_number()
        return values

    @classmethod
    def copy(cls, meetings, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('number', None)
        default.setdefault('sales', None)
        default.setdefault('date', None)
        default.setdefault('end_date', None)
        default.setdefault('closed_sales_amount', None)
        default.setdefault('reward_base', None)
        return super().copy(meetings, default=default)

    @classmethod
    def check_modification(cls, mode, meetings, values=None, external=False):
        super().check_modification(
            mode, meetings, values=values, external=external)
        if mode == 'delete':
            for meeting in meetings:
                if meeting.state not in {'draft', 'cancelled'}:
                    raise MeetingError(gettext(
                            'bol_air_crm.msg_meeting_delete_state',
                            meeting=meeting.rec_name))

    @classmethod
    def on_modification(cls, mode, meetings, field_names=None):
        pool = Pool()
        Party = pool.get('party.party')
        super().on_modification(mode, meetings, field_names=field_names)
        if mode == 'write' and field_names and 'state' in field_names:
            hosts = {m.host for m in meetings if m.host}
            if hosts:
                Party.update_host_status(list(hosts))

    @classmethod
    def check_plannable(cls, meetings):
        for meeting in meetings:
            missing = [
                getattr(cls, f).string for f in ['host', 'ambassador', 'date']
                if not getattr(meeting, f)]
            if missing:
                raise MeetingError(gettext(
                        'bol_air_crm.msg_meeting_plan_missing',
                        meeting=meeting.rec_name,
                        fields=', '.join(missing)))

    @classmethod
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, meetings):
        pass

    @classmethod
    @ModelView.button
    @require_state(
        'draft', 'planned',
        message='bol_air_crm.msg_meeting_plan_state')
    @Workflow.transition('planned')
    def plan(cls, meetings):
        cls.check_plannable(meetings)
        to_write = [m for m in meetings if not m.address and m.host]
        for meeting in to_write:
            meeting.address = meeting.host.address_get()
        cls.save(to_write)

    @classmethod
    @ModelView.button
    @require_state(
        'planned', 'held',
        message='bol_air_crm.msg_meeting_hold_state')
    @Workflow.transition('held')
    def hold(cls, meetings):
        pass

    @classmethod
    @ModelView.button
    @require_state(
        'held', 'closed',
        message='bol_air_crm.msg_meeting_close_state')
    @Workflow.transition('closed')
    def close(cls, meetings):
        """Confirm the meeting's quotations, invoice each order exactly
        once and fix the host's reward."""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Configuration = pool.get('bol_air.configuration')
        # Lock the meetings, their orders and the invoice numbering before
        # any work, always in this order (Tryton restarts the transaction
        # with the rows locked), then write the guard row: a second close
        # of the same meeting waits, is retried and finds the meeting
        # closed.
        cls.lock(meetings)
        with without_check_access():
            Sale.lock_invoicing(
                [s for m in meetings for s in m.sales
                    if s.state != 'cancelled'],
                post=Configuration(1).post_invoices)
        write_guard(cls, meetings)
        sales = [s for m in meetings for s in m.sales
            if s.state in {'draft', 'quotation'}]
        if sales:
            Sale.quote([s for s in sales if s.state == 'draft'])
            Sale.confirm(sales)
        meetings = cls.browse(meetings)
        Sale.invoice_once([s for m in meetings for s in m.confirmed_sales])
        cls.fix_amounts(cls.browse(meetings))

    @classmethod
    def fix_amounts(cls, meetings):
        "Store the sales and the reward base of the meetings at closing"
        for meeting in meetings:
            meeting.closed_sales_amount, meeting.reward_base = (
                meeting._live_amounts())
        cls.save(meetings)

    @classmethod
    @ModelView.button
    @require_state(
        'draft', 'planned', 'cancelled',
        message='bol_air_crm.msg_meeting_cancel_state')
    @Workflow.transition('cancelled')
    def cancel(cls, meetings):
        pool = Pool()
        Sale = pool.get('sale.sale')
        sales = [s for m in meetings for s in m.sales]
        confirmed = [s for s in sales if s.state in CONFIRMED_SALE_STATES]
        if confirmed:
            sale = confirmed[0]
            raise MeetingError(gettext(
                    'bol_air_crm.msg_meeting_cancel_confirmed_order',
                    meeting=sale.meeting.rec_name,
                    sale=sale.rec_name))
        Sale.cancel([s for s in sales if s.state != 'cancelled'])


class Guest(ModelSQL, ModelView):
    __name__ = 'bol_air.meeting.guest'
    __string__ = "Meeting Guest"

    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Guest", required=True, ondelete='RESTRICT')
    attended = fields.Boolean(
        "Attended", help="Check when the guest came to the meeting.")
    wants_to_host = fields.Boolean(
        "Wants to Host",
        help="The guest would like to host a meeting of her own.")
    meeting_date = fields.Function(
        fields.DateTime("Meeting Date"), 'get_meeting_field')
    meeting_state = fields.Function(
        fields.Selection(STATES, "Meeting State"), 'get_meeting_field')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('meeting_party_unique', Unique(t, t.meeting, t.party),
                'bol_air_crm.msg_meeting_guest_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.party, Index.Range())))

    @classmethod
    def default_attended(cls):
        return False

    @classmethod
    def default_wants_to_host(cls):
        return False

    def get_rec_name(self, name):
        return self.party.rec_name

    def get_meeting_field(self, name):
        return getattr(self.meeting, name[len('meeting_'):])
