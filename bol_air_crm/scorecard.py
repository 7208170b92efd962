# This file is part of bol_air_crm.
import datetime as dt
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql import Cast, Literal, Null, Union
from sql.aggregate import Count, Sum
from sql.conditionals import Coalesce
from sql.functions import DateTrunc, Extract, Round
from sql.operators import Concat, Exists

from trytond.model import ModelSQL, ModelView, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .objective import first_day
from .sale import CONFIRMED_SALE_STATES

HELD_STATES = ['held', 'closed']
BOOKED_STATES = ['planned', 'held', 'closed']


def _ratio(numerator, denominator):
    if not denominator or numerator is None:
        return None
    return float(numerator) / float(denominator)


def _to_decimal(value):
    "SQLite returns the sums of numeric columns as float or int"
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value)).quantize(Decimal('0.01'))


class ScorecardContext(ModelView):
    __name__ = 'bol_air.scorecard.context'
    __string__ = "Scorecard Context"

    company = fields.Many2One('company.company', "Company", required=True)
    from_month = fields.Date(
        "From Month",
        domain=[
            If(Eval('to_month') & Eval('from_month'),
                ('from_month', '<=', Eval('to_month')),
                ()),
            ])
    to_month = fields.Date(
        "To Month",
        domain=[
            If(Eval('from_month') & Eval('to_month'),
                ('to_month', '>=', Eval('from_month')),
                ()),
            ])
    ambassador = fields.Many2One(
        'company.employee', "Ambassador",
        domain=[
            ('company', '=', Eval('company', -1)),
            ])

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_month(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        context = Transaction().context
        if 'from_month' in context:
            return context['from_month']
        return first_day(Date.today() - relativedelta(months=11))

    @classmethod
    def default_to_month(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        context = Transaction().context
        if 'to_month' in context:
            return context['to_month']
        return first_day(Date.today())

    @classmethod
    def default_ambassador(cls):
        return Transaction().context.get('ambassador')


def _period():
    """Return the first day of the first month and the first day after the
    last month of the context (None when not set)"""
    context = Transaction().context
    start = context.get('from_month')
    end = context.get('to_month')
    if isinstance(start, str):
        start = dt.date.fromisoformat(start)
    if isinstance(end, str):
        end = dt.date.fromisoformat(end)
    if start:
        start = first_day(start)
    if end:
        end = first_day(end) + relativedelta(months=1)
    return start, end


class Scorecard(ModelSQL, ModelView):
    __name__ = 'bol_air.scorecard'
    __string__ = "Objective Tracking"

    company = fields.Many2One('company.company', "Company", readonly=True)
    ambassador = fields.Many2One(
        'company.employee', "Ambassador", readonly=True)
    month = fields.Date("Month", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    meetings_held = fields.Integer(
        "Meetings Held", readonly=True,
        help="Meetings held or closed, by meeting date.")
    revenue = Monetary(
        "Revenue", currency='currency', digits='currency', readonly=True,
        help="Untaxed amount invoiced on the orders of the meetings held in "
        "the month, less the credit notes.")
    orders = fields.Integer(
        "Orders", readonly=True,
        help="Confirmed orders of the meetings held in the month.")
    guests = fields.Integer(
        "Guests", readonly=True,
        help="Guests who attended the meetings held in the month.")
    bookings = fields.Integer(
        "Bookings", readonly=True,
        help="Meetings planned later by guests of the meetings held "
        "in the month.")
    guests_hosting = fields.Integer(
        "Guests Turned Hosts", readonly=True,
        help="Guests of the meetings held in the month who later hosted "
        "a held meeting.")
    new_hosts = fields.Integer(
        "New Hosts", readonly=True,
        help="Customers whose first held meeting as host falls in the "
        "month.")
    complaints = fields.Integer(
        "Complaints", readonly=True,
        help="Complaints on the orders of the meetings held in the month.")
    revenue_objective = Monetary(
        "Revenue Objective", currency='currency', digits='currency',
        readonly=True)
    meetings_objective = fields.Integer(
        "Meetings Objective", readonly=True)
    new_hosts_objective = fields.Integer(
        "New Hosts Objective", readonly=True)

    average_sales = fields.Function(Monetary(
            "Average Sales per Meeting", currency='currency',
            digits='currency'), 'get_figures')
    guests_per_meeting = fields.Function(fields.Float(
            "Guests per Meeting", digits=(16, 2)), 'get_figures')
    bookings_per_meeting = fields.Function(fields.Float(
            "Bookings per Meeting", digits=(16, 2)), 'get_figures')
    guest_host_rate = fields.Function(fields.Float(
            "Guest to Host Rate (%)", digits=(16, 2),
            help="Guests who later hosted a held meeting among the guests."),
        'get_figures')
    complaint_rate = fields.Function(fields.Float(
            "Complaint Rate (%)", digits=(16, 2),
            help="Complaints per order."),
        'get_figures')
    revenue_gap = fields.Function(Monetary(
            "Revenue Gap", currency='currency', digits='currency',
            help="Revenue less its objective."), 'get_figures')
    revenue_achievement = fields.Function(fields.Float(
            "Revenue Achievement (%)", digits=(16, 2)), 'get_figures')
    meetings_gap = fields.Function(fields.Integer(
            "Meetings Gap"), 'get_figures')
    meetings_achievement = fields.Function(fields.Float(
            "Meetings Achievement (%)", digits=(16, 2)), 'get_figures')
    new_hosts_gap = fields.Function(fields.Integer(
            "New Hosts Gap"), 'get_figures')
    new_hosts_achievement = fields.Function(fields.Float(
            "New Hosts Achievement (%)", digits=(16, 2)), 'get_figures')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('month', 'DESC'),
            ('ambassador', 'ASC'),
            ('id', 'DESC'),
            ]

    @classmethod
    def _meeting_where(cls, meeting):
        "The held meetings of the context"
        context = Transaction().context
        where = (meeting.state.in_(HELD_STATES)
            & (meeting.ambassador != Null))
        if context.get('company'):
            where &= meeting.company == context['company']
        if context.get('ambassador'):
            where &= meeting.ambassador == context['ambassador']
        start, end = _period()
        if start:
            where &= meeting.date >= dt.datetime.combine(start, dt.time())
        if end:
            where &= meeting.date < dt.datetime.combine(end, dt.time())
        return where

    @classmethod
    def _month(cls, column):
        return cls.month.sql_cast(DateTrunc('month', column))

    @classmethod
    def _held(cls):
        "A query of the held meetings with their month"
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        meeting = Meeting.__table__()
        return meeting.select(
            meeting.id.as_('meeting'),
            meeting.company.as_('company'),
            meeting.ambassador.as_('ambassador'),
            cls._month(meeting.date).as_('month'),
            meeting.date.as_('date'),
            where=cls._meeting_where(meeting))

    @classmethod
    def _aggregate(cls, from_item, held, *columns, where=None):
        keys = [held.company, held.ambassador, held.month]
        return from_item.select(
            held.company.as_('company'),
            held.ambassador.as_('ambassador'),
            held.month.as_('month'),
            *columns,
            where=where,
            group_by=keys)

    @classmethod
    def _meetings_query(cls):
        held = cls._held()
        return cls._aggregate(held, held, Count(held.meeting).as_('value'))

    @classmethod
    def _revenue_query(cls):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Party = pool.get('party.party')
        invoice = Invoice.__table__()
        held = cls._held()
        # The invoiced sales as the customer's yearly revenue counts them
        return cls._aggregate(
            held.join(invoice, condition=invoice.meeting == held.meeting),
            held,
            Sum(Coalesce(invoice.untaxed_amount_cache, 0)).as_('value'),
            where=Party._invoiced_where(invoice))

    @classmethod
    def _orders_query(cls):
        pool = Pool()
        Sale = pool.get('sale.sale')
        sale = Sale.__table__()
        held = cls._held()
        return cls._aggregate(
            held.join(sale, condition=sale.meeting == held.meeting),
            held, Count(sale.id).as_('value'),
            where=sale.state.in_(CONFIRMED_SALE_STATES))

    @classmethod
    def _guests_query(cls):
        pool = Pool()
        Guest = pool.get('bol_air.meeting.guest')
        guest = Guest.__table__()
        held = cls._held()
        return cls._aggregate(
            held.join(guest, condition=guest.meeting == held.meeting),
            held, Count(guest.id).as_('value'),
            where=guest.attended == Literal(True))

    @classmethod
    def _later_meetings_query(cls, states, count):
        """Count the meetings in states hosted by attended guests after the
        meetings held"""
        pool = Pool()
        Guest = pool.get('bol_air.meeting.guest')
        Meeting = pool.get('bol_air.meeting')
        guest = Guest.__table__()
        later = Meeting.__table__()
        held = cls._held()
        from_item = (held
            .join(guest, condition=guest.meeting == held.meeting)
            .join(later, condition=(later.host == guest.party)
                & (later.date > held.date)))
        return cls._aggregate(
            from_item, held, count(guest, later).as_('value'),
            where=(guest.attended == Literal(True))
            & later.state.in_(states))

    @classmethod
    def _bookings_query(cls):
        return cls._later_meetings_query(
            BOOKED_STATES, lambda guest, later: Count(later.id))

    @classmethod
    def _guests_hosting_query(cls):
        return cls._later_meetings_query(
            HELD_STATES,
            lambda guest, later: Count(guest.id, distinct=True))

    @classmethod
    def _complaints_query(cls):
        pool = Pool()
        Sale = pool.get('sale.sale')
        Line = pool.get('sale.line')
        Complaint = pool.get('sale.complaint')
        queries = []
        for on_line in [False, True]:
            sale = Sale.__table__()
            line = Line.__table__()
            complaint = Complaint.__table__()
            held = cls._held()
            from_item = held.join(
                sale, condition=sale.meeting == held.meeting)
            if on_line:
                from_item = from_item.join(
                    line, condition=line.sale == sale.id)
                origin = Concat('sale.line,', Cast(line.id, 'VARCHAR'))
            else:
                origin = Concat('sale.sale,', Cast(sale.id, 'VARCHAR'))
            from_item = from_item.join(
                complaint, condition=complaint.origin == origin)
            queries.append(from_item.select(
                    held.company.as_('company'),
                    held.ambassador.as_('ambassador'),
                    held.month.as_('month'),
                    complaint.id.as_('complaint'),
                    where=complaint.state != 'cancelled'))
        complaints = Union(*queries, all_=True)
        return complaints.select(
            complaints.company.as_('company'),
            complaints.ambassador.as_('ambassador'),
            complaints.month.as_('month'),
            Count(complaints.complaint).as_('value'),
            group_by=[
                complaints.company, complaints.ambassador, complaints.month])

    @classmethod
    def _new_hosts_query(cls):
        """The hosts whose first held meeting (ever) is a held meeting of
        the context, not counting the hosts of the former file"""
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        Party = pool.get('party.party')
        meeting = Meeting.__table__()
        earlier = Meeting.__table__()
        party = Party.__table__()
        held = cls._held()
        from_item = (held
            .join(meeting, condition=meeting.id == held.meeting)
            .join(party, condition=party.id == meeting.host))
        first = ~Exists(earlier.select(
                Literal(1),
                where=(earlier.host == meeting.host)
                & earlier.state.in_(HELD_STATES)
                & ((earlier.date < meeting.date)
                    | ((earlier.date == meeting.date)
                        & (earlier.id < meeting.id)))))
        return cls._aggregate(
            from_item, held, Count(meeting.host, distinct=True).as_('value'),
            where=first & (Coalesce(party.legacy_meeting_count, 0) == 0))

    @classmethod
    def _objectives_query(cls):
        pool = Pool()
        Objective = pool.get('bol_air.objective')
        objective = Objective.__table__()
        context = Transaction().context
        where = objective.month != Null
        if context.get('company'):
            where &= objective.company == context['company']
        if context.get('ambassador'):
            where &= objective.ambassador == context['ambassador']
        start, end = _period()
        if start:
            where &= objective.month >= start
        if end:
            where &= objective.month < end
        return objective.select(
            objective.company.as_('company'),
            objective.ambassador.as_('ambassador'),
            objective.month.as_('month'),
            objective.revenue.as_('revenue'),
            objective.meetings.as_('meetings'),
            objective.new_hosts.as_('new_hosts'),
            where=where)

    @classmethod
    def _figure_queries(cls):
        "The name of the column and the query of each figure"
        return {
            'meetings_held': cls._meetings_query(),
            'revenue': cls._revenue_query(),
            'orders': cls._orders_query(),
            'guests': cls._guests_query(),
            'bookings': cls._bookings_query(),
            'guests_hosting': cls._guests_hosting_query(),
            'new_hosts': cls._new_hosts_query(),
            'complaints': cls._complaints_query(),
            }

    @classmethod
    def table_query(cls):
        pool = Pool()
        Company = pool.get('company.company')
        company = Company.__table__()
        figures = cls._figure_queries()
        objective = cls._objectives_query()
        keys = Union(*(
                q.select(q.company, q.ambassador, q.month)
                for q in [
                    figures['meetings_held'], figures['new_hosts'],
                    objective]))
        from_item = keys.join(
            company, condition=company.id == keys.company)
        columns = []
        for name, query in figures.items():
            from_item = from_item.join(query, 'LEFT',
                condition=(query.company == keys.company)
                & (query.ambassador == keys.ambassador)
                & (query.month == keys.month))
            value = Coalesce(query.value, 0)
            if name == 'revenue':
                value = Round(cls.revenue.sql_cast(value), 2)
            columns.append(value.as_(name))
        from_item = from_item.join(objective, 'LEFT',
            condition=(objective.company == keys.company)
            & (objective.ambassador == keys.ambassador)
            & (objective.month == keys.month))
        month_number = (Extract('YEAR', keys.month) * 12
            + Extract('MONTH', keys.month))
        return from_item.select(
            cls.id.sql_cast(
                keys.ambassador * 100000 + month_number).as_('id'),
            keys.company.as_('company'),
            keys.ambassador.as_('ambassador'),
            keys.month.as_('month'),
            company.currency.as_('currency'),
            *columns,
            objective.revenue.as_('revenue_objective'),
            objective.meetings.as_('meetings_objective'),
            objective.new_hosts.as_('new_hosts_objective'),
            )

    @classmethod
    def get_figures(cls, records, names):
        result = {n: {} for n in names}
        for record in records:
            revenue = _to_decimal(record.revenue) or Decimal(0)
            meetings = record.meetings_held or 0
            values = {
                'guests_per_meeting': _ratio(record.guests, meetings),
                'bookings_per_meeting': _ratio(record.bookings, meetings),
                'guest_host_rate': _ratio(
                    record.guests_hosting, record.guests),
                'complaint_rate': _ratio(record.complaints, record.orders),
                }
            if meetings:
                values['average_sales'] = (revenue / meetings).quantize(
                    Decimal('0.01'))
            else:
                values['average_sales'] = None
            for figure, result_ in [
                    ('revenue', revenue),
                    ('meetings', meetings),
                    ('new_hosts', record.new_hosts or 0),
                    ]:
                objective = getattr(record, figure + '_objective')
                if objective is None:
                    gap = achievement = None
                else:
                    gap = result_ - objective
                    achievement = _ratio(result_, objective)
                values[figure + '_gap'] = gap
                values[figure + '_achievement'] = achievement
            for name in names:
                result[name][record.id] = values[name]
        return result

    @classmethod
    def view_attributes(cls):
        attributes = super().view_attributes()
        for figure in ['revenue', 'meetings', 'new_hosts']:
            gap = figure + '_gap'
            attributes.append(
                ('/tree/field[@name="%s"]' % gap, 'visual',
                    If(Eval(gap, None) == None,  # noqa: E711
                        '',
                        If(Eval(gap, 0) < 0, 'danger', 'success'))))
        return attributes


class CustomerRevenue(ModelSQL, ModelView):
    __name__ = 'bol_air.scorecard.customer'
    __string__ = "Revenue per Customer"

    company = fields.Many2One('company.company', "Company", readonly=True)
    customer = fields.Many2One(
        'party.party', "Customer", readonly=True,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    ambassador = fields.Many2One(
        'company.employee', "Ambassador", readonly=True)
    year = fields.Integer("Year", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    revenue = Monetary(
        "Yearly Revenue", currency='currency', digits='currency',
        readonly=True,
        help="Untaxed amount invoiced in the year, less the credit notes.")
    orders = fields.Integer(
        "Purchase Frequency", readonly=True,
        help="Orders confirmed in the year.")
    average_order = fields.Function(Monetary(
            "Average Order", currency='currency', digits='currency'),
        'get_average_order')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('year', 'DESC'),
            ('revenue', 'DESC'),
            ('customer', 'ASC'),
            ('id', 'DESC'),
            ]

    @classmethod
    def _date_where(cls, column):
        start, end = _period()
        where = column != Null
        if start:
            where &= column >= start
        if end:
            where &= column < end
        return where

    @classmethod
    def _revenue_query(cls):
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Party = pool.get('party.party')
        invoice = Invoice.__table__()
        where = (Party._invoiced_where(invoice)
            & cls._date_where(invoice.invoice_date))
        year = Extract('YEAR', invoice.invoice_date)
        return invoice.select(
            invoice.company.as_('company'),
            invoice.party.as_('customer'),
            year.as_('year'),
            Sum(Coalesce(invoice.untaxed_amount_cache, 0)).as_('value'),
            where=where,
            group_by=[invoice.company, invoice.party, year])

    @classmethod
    def _orders_query(cls):
        pool = Pool()
        Sale = pool.get('sale.sale')
        sale = Sale.__table__()
        context = Transaction().context
        where = (sale.state.in_(CONFIRMED_SALE_STATES)
            & cls._date_where(sale.sale_date))
        if context.get('company'):
            where &= sale.company == context['company']
        year = Extract('YEAR', sale.sale_date)
        return sale.select(
            sale.company.as_('company'),
            sale.party.as_('customer'),
            year.as_('year'),
            Count(sale.id).as_('value'),
            where=where,
            group_by=[sale.company, sale.party, year])

    @classmethod
    def table_query(cls):
        pool = Pool()
        Company = pool.get('company.company')
        Party = pool.get('party.party')
        company = Company.__table__()
        party = Party.__table__()
        context = Transaction().context
        revenue = cls._revenue_query()
        orders = cls._orders_query()
        keys = Union(*(
                q.select(q.company, q.customer, q.year)
                for q in [revenue, orders]))
        from_item = (keys
            .join(company, condition=company.id == keys.company)
            .join(party, condition=party.id == keys.customer))
        for query in [revenue, orders]:
            from_item = from_item.join(query, 'LEFT',
                condition=(query.company == keys.company)
                & (query.customer == keys.customer)
                & (query.year == keys.year))
        where = party.id != Null
        if context.get('ambassador'):
            where &= party.ambassador == context['ambassador']
        return from_item.select(
            cls.id.sql_cast(keys.customer * 10000 + keys.year).as_('id'),
            keys.company.as_('company'),
            keys.customer.as_('customer'),
            party.ambassador.as_('ambassador'),
            cls.year.sql_cast(keys.year).as_('year'),
            company.currency.as_('currency'),
            Round(cls.revenue.sql_cast(Coalesce(revenue.value, 0)), 2).as_(
                'revenue'),
            Coalesce(orders.value, 0).as_('orders'),
            where=where)

    @classmethod
    def get_average_order(cls, records, name):
        result = {}
        for record in records:
            if record.orders:
                result[record.id] = (
                    _to_decimal(record.revenue) / record.orders).quantize(
                    Decimal('0.01'))
            else:
                result[record.id] = None
        return result
