# This file is part of bol_air_crm.
"""The host recruitment funnel per ambassador over a period: how many leads
were opened, how many reached each stage, and how many guests of the
meetings held became hosts."""
import datetime as dt

from sql import Literal, Null
from sql.aggregate import Count
from sql.conditionals import Case, Coalesce
from sql.operators import Exists

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

HELD_STATES = ['held', 'closed']
# rate: (numerator, denominator)
RATES = {
    'contact_rate': ('contacted_count', 'lead_count'),
    'booking_rate': ('booked_count', 'contacted_count'),
    'holding_rate': ('held_count', 'booked_count'),
    'conversion_rate': ('held_count', 'lead_count'),
    'guest_host_rate': ('new_host_count', 'guest_count'),
    }


def _rate(string, help):
    return fields.Function(
        fields.Float(string, digits=(1, 4), help=help), 'get_rate')


class FunnelContext(ModelView):
    __name__ = 'bol_air.lead.funnel.context'
    __string__ = "Recruitment Funnel Context"

    company = fields.Many2One('company.company', "Company", required=True)
    from_date = fields.Date(
        "From Date",
        domain=[
            If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')),
                ()),
            ])
    to_date = fields.Date(
        "To Date",
        domain=[
            If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')),
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
    def default_from_date(cls):
        context = Transaction().context
        if 'from_date' in context:
            return context['from_date']
        return Pool().get('ir.date').today().replace(month=1, day=1)

    @classmethod
    def default_to_date(cls):
        context = Transaction().context
        if 'to_date' in context:
            return context['to_date']
        return Pool().get('ir.date').today()

    @classmethod
    def default_ambassador(cls):
        return Transaction().context.get('ambassador')


class Funnel(ModelSQL, ModelView):
    __name__ = 'bol_air.lead.funnel'
    __string__ = "Recruitment Funnel"

    company = fields.Many2One('company.company', "Company", readonly=True)
    ambassador = fields.Many2One(
        'company.employee', "Ambassador", readonly=True)
    lead_count = fields.Integer(
        "Leads", readonly=True, help="Leads opened in the period.")
    contacted_count = fields.Integer(
        "Contacted", readonly=True,
        help="Leads of the period that were contacted.")
    booked_count = fields.Integer(
        "Booked", readonly=True,
        help="Leads of the period that booked a meeting.")
    held_count = fields.Integer(
        "Held", readonly=True,
        help="Leads of the period whose meeting was held.")
    lost_count = fields.Integer(
        "Lost", readonly=True, help="Leads of the period that are lost.")
    contact_rate = _rate("Contact Rate", "Contacted / leads.")
    booking_rate = _rate("Booking Rate", "Booked / contacted.")
    holding_rate = _rate("Holding Rate", "Held / booked.")
    conversion_rate = _rate("Conversion Rate", "Held / leads.")
    guest_count = fields.Integer(
        "Guests", readonly=True,
        help="Guests of the meetings held in the period.")
    new_host_count = fields.Integer(
        "Guests Turned Hosts", readonly=True,
        help="Guests of the meetings held in the period who later hosted a "
        "meeting that was held.")
    guest_host_rate = _rate(
        "Guest to Host Rate", "Guests turned hosts / guests.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('ambassador', 'ASC'), ('id', 'ASC')]

    @classmethod
    def _period(cls):
        context = Transaction().context
        return context.get('from_date'), context.get('to_date')

    @classmethod
    def _leads_query(cls):
        pool = Pool()
        Lead = pool.get('bol_air.lead')
        lead = Lead.__table__()
        from_date, to_date = cls._period()
        where = lead.ambassador != Null
        if from_date:
            where &= lead.date >= from_date
        if to_date:
            where &= lead.date <= to_date
        return lead.select(
            lead.ambassador.as_('ambassador'),
            Count(lead.id).as_('lead_count'),
            Count(lead.contacted_date).as_('contacted_count'),
            Count(lead.booked_date).as_('booked_count'),
            Count(lead.held_date).as_('held_count'),
            Count(Case((lead.state == 'lost', lead.id))).as_('lost_count'),
            where=where,
            group_by=[lead.ambassador])

    @classmethod
    def _guests_query(cls):
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        Guest = pool.get('bol_air.meeting.guest')
        meeting = Meeting.__table__()
        hosted = Meeting.__table__()
        guest = Guest.__table__()
        from_date, to_date = cls._period()
        # Like the scorecard: only the guests who came count
        where = ((meeting.ambassador != Null)
            & meeting.state.in_(HELD_STATES)
            & (guest.attended == Literal(True)))
        if from_date:
            where &= meeting.date >= dt.datetime.combine(
                from_date, dt.time.min)
        if to_date:
            where &= meeting.date < dt.datetime.combine(
                to_date + dt.timedelta(days=1), dt.time.min)
        later = hosted.select(
            hosted.id,
            where=(hosted.host == guest.party)
            & hosted.state.in_(HELD_STATES)
            & (hosted.date > meeting.date))
        return guest.join(meeting, condition=guest.meeting == meeting.id
            ).select(
                meeting.ambassador.as_('ambassador'),
                Count(guest.id).as_('guest_count'),
                Count(Case((Exists(later), guest.id))).as_('new_host_count'),
                where=where,
                group_by=[meeting.ambassador])

    @classmethod
    def table_query(cls):
        pool = Pool()
        Employee = pool.get('company.employee')
        context = Transaction().context
        employee = Employee.__table__()
        leads = cls._leads_query()
        guests = cls._guests_query()
        where = (leads.ambassador != Null) | (guests.ambassador != Null)
        if context.get('company'):
            where &= employee.company == context['company']
        if context.get('ambassador'):
            where &= employee.id == context['ambassador']
        columns = [
            employee.id.as_('id'),
            employee.company.as_('company'),
            employee.id.as_('ambassador'),
            ]
        for query, names in [
                (leads, ['lead_count', 'contacted_count', 'booked_count',
                        'held_count', 'lost_count']),
                (guests, ['guest_count', 'new_host_count'])]:
            for name in names:
                columns.append(Coalesce(getattr(query, name), 0).as_(name))
        return employee.join(leads, 'LEFT',
            condition=leads.ambassador == employee.id
            ).join(guests, 'LEFT',
                condition=guests.ambassador == employee.id
            ).select(*columns, where=where)

    def get_rate(self, name):
        numerator, denominator = RATES[name]
        denominator = getattr(self, denominator)
        if denominator:
            return round(getattr(self, numerator) / denominator, 4)
