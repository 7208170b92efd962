# This file is part of bol_air_crm.
from collections import defaultdict
import datetime as dt
from datetime import timedelta
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import CharLength
from sql.operators import Exists

from trytond import backend
from trytond.model import Index, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import (
    Transaction, inactive_records, without_check_access)

HOST_STATUSES = [
    ('none', "Not a host"),
    ('prospect', "Prospective host"),
    ('host', "Host"),
    ]
SOURCES = [
    (None, ""),
    ('meeting', "Meeting"),
    ('phone', "Phone"),
    ('portal', "Portal"),
    ('fair', "Fair"),
    ('referral', "Referral"),
    ('import', "Import"),
    ('other', "Other"),
    ]


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    crm_customer = fields.Boolean(
        "CRM Customer",
        help="Check for the people of the customer file (N° client).")
    # loading='lazy': core's search fetches the eager columns of every row it
    # finds (1 000 for a list page), the form's columns load when shown
    civility = fields.Selection([
            (None, ""),
            ('mme', "Mrs"),
            ('m', "Mr"),
            ], "Title", loading='lazy')
    last_name = fields.Char("Last Name", loading='lazy')
    first_name = fields.Char("First Name", loading='lazy')
    host_status = fields.Selection(
        HOST_STATUSES, "Host Status", required=True,
        help="Host once they hosted a held meeting (or were imported as "
        "host); prospective host while a meeting they host is planned.")
    ambassador = fields.Many2One(
        'company.employee', "Ambassador", ondelete='RESTRICT',
        help="The ambassador who looks after the customer.")
    birth_date = fields.Date("Birth Date", loading='lazy')
    source = fields.Selection(
        SOURCES, "Source", loading='lazy',
        help="How the customer came to us.")
    referrer = fields.Many2One(
        'party.party', "Referrer", ondelete='SET NULL', loading='lazy',
        domain=[('id', '!=', Eval('id', -1))],
        help="The customer whose meeting brought this person.")
    former_codes = fields.Char(
        "Former Numbers", loading='lazy',
        help="Customer numbers of the duplicates merged into this customer.")
    legacy_revenue = fields.Numeric(
        "Legacy Yearly Revenue", digits=(16, 2), loading='lazy',
        help="Yearly revenue carried over from the former customer file.")
    legacy_revenue_date = fields.Date(
        "Legacy Revenue Date", loading='lazy',
        states={
            'required': Eval('legacy_revenue', None) != None,  # noqa: E711
            },
        help="The legacy revenue counts in the yearly revenue "
        "during the 365 days following this date.")
    legacy_meeting_count = fields.Integer(
        "Legacy Meetings", loading='lazy',
        domain=['OR',
            ('legacy_meeting_count', '=', None),
            ('legacy_meeting_count', '>=', 0),
            ],
        help="Meetings hosted before the CRM, from the former file.")
    meeting_count = fields.Function(
        fields.Integer(
            "Meetings Hosted",
            help="Meetings hosted and held, including the former file's."),
        'get_crm_figures')
    annual_revenue = fields.Function(
        fields.Numeric(
            "Yearly Revenue", digits=(16, 2),
            help="Untaxed revenue invoiced over the last 365 days, "
            "plus the revenue carried over from the former file."),
        'get_crm_figures', searcher='search_annual_revenue')
    hosted_meetings = fields.One2Many(
        'bol_air.meeting', 'host', "Hosted Meetings", readonly=True)
    guest_entries = fields.One2Many(
        'bol_air.meeting.guest', 'party', "Attended Meetings", readonly=True)
    interactions = fields.One2Many(
        'bol_air.interaction', 'party', "Interactions")
    next_follow_up = fields.Function(
        fields.Date("Next Follow-up"), 'get_crm_figures')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Lists search the parties by the thousand and core's search fetches
        # every eager column of each row to fill a cache the next request
        # does not see: the technical columns load when used
        for name in ['code_alnum', 'code_digit', 'replaced_by',
                'create_uid', 'write_uid', 'create_date']:
            getattr(cls, name).loading = 'lazy'
        t = cls.__table__()
        # The customer list is sorted by number (core's order of the code:
        # length, then code) a page of 1 000 at a time: in this order the
        # first rows are read instead of sorting the whole file
        cls._sql_indexes.add(
            Index(t,
                (CharLength(t.code), Index.Range()),
                (t.code, Index.Range()),
                (t.id, Index.Range())))

    def __init__(self, id=None, **kwargs):
        # Core checks every id of a browse for each record it makes
        # (quadratic: a million checks for the 1 000 rows of a list);
        # browse has already made them integers
        _ids = kwargs.pop('_ids', None)
        super().__init__(id, **kwargs)
        if _ids is not None:
            self._ids = _ids

    @classmethod
    def default_crm_customer(cls):
        return False

    @classmethod
    def default_host_status(cls):
        return 'none'

    @classmethod
    def default_ambassador(cls):
        if Transaction().context.get('default_crm_customer'):
            return Transaction().context.get('employee')

    @fields.depends('last_name', 'first_name', 'name')
    def on_change_last_name(self):
        self._set_name_from_parts()

    @fields.depends('last_name', 'first_name', 'name')
    def on_change_first_name(self):
        self._set_name_from_parts()

    def _set_name_from_parts(self):
        name = self.full_name_from_parts(self.last_name, self.first_name)
        if name:
            self.name = name

    @staticmethod
    def full_name_from_parts(last_name, first_name):
        "Return the customer's name as written in the file: NOM Prénom"
        parts = [
            p.strip() for p in [last_name or '', first_name or '']
            if p and p.strip()]
        return ' '.join(parts) or None

    @classmethod
    def _customer_sequence(cls):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        return Configuration(1).customer_sequence

    @classmethod
    def _next_free_code(cls, sequence):
        """Return the next number of the sequence that no party uses yet:
        numbers kept from the former file or given by another sequence are
        skipped instead of breaking the unique code."""
        while True:
            code = sequence.get()
            # Whatever the user may see: the code must be free for everyone
            with without_check_access():
                if not cls.search([('code', '=', code)], limit=1):
                    return code

    @classmethod
    def preprocess_values(cls, mode, values):
        if mode == 'create':
            values = dict(values)
            if not values.get('code'):
                if values.get('crm_customer'):
                    sequence = cls._customer_sequence()
                else:
                    sequence = cls._code_sequence()
                if sequence:
                    with inactive_records():
                        values['code'] = cls._next_free_code(sequence)
            if not values.get('name'):
                name = cls.full_name_from_parts(
                    values.get('last_name'), values.get('first_name'))
                if name:
                    values['name'] = name
        return super().preprocess_values(mode, values)

    @classmethod
    def _revenue_since(cls, today=None):
        """The yearly revenue counts what was invoiced after this date
        (365 days before today, default: the company's today)"""
        pool = Pool()
        Date = pool.get('ir.date')
        if today is None:
            today = Date.today()
        return today - timedelta(days=365)

    @classmethod
    def _invoiced_where(cls, invoice, since=None, until=None):
        """Condition on invoice (an account.invoice table) of the invoiced
        sales: posted customer invoices and credit notes dated after since
        (when given) up to until (when given)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        credit_note = Invoice.__table__()
        # An invoice credited "with refund" is cancelled by the move of its
        # posted credit note: it still counts, as the credit note does.
        # EXISTS looks the cancelled invoice's move up (index on move); an IN
        # under this OR is a hashed subplan reading every invoice with a
        # move as soon as one row is cancelled, e.g. for a page of the list
        refunded = ((invoice.state == 'cancelled')
            & Exists(credit_note.select(
                    Literal(1),
                    where=credit_note.move == invoice.cancel_move)))
        where = ((invoice.type == 'out')
            & (invoice.state.in_(['posted', 'paid']) | refunded))
        if since is not None:
            where &= invoice.invoice_date > since
        if until is not None:
            where &= invoice.invoice_date <= until
        if company_id := Transaction().context.get('company'):
            where &= invoice.company == company_id
        return where

    @classmethod
    def _invoiced_query(cls, party_ids=None, since=None, until=None):
        """Untaxed amount of posted customer invoices per party, after
        since (default: 365 days ago) up to until (default: today)"""
        pool = Pool()
        Invoice = pool.get('account.invoice')
        Date = pool.get('ir.date')
        invoice = Invoice.__table__()
        if since is None or until is None:
            # Once: the company's today reads the company
            today = Date.today()
        if since is None:
            since = cls._revenue_since(today)
        if until is None:
            until = today
        where = cls._invoiced_where(invoice, since, until)
        if party_ids is not None:
            where &= fields.SQL_OPERATORS['in'](invoice.party, party_ids)
        query = invoice.select(
            invoice.party.as_('party'),
            Sum(Coalesce(invoice.untaxed_amount_cache, 0)).as_('amount'),
            where=where,
            group_by=[invoice.party])
        return query, since

    @classmethod
    def _revenue_expression(cls, party, invoiced, since):
        legacy = Case(
            (party.legacy_revenue_date > since,
                Coalesce(party.legacy_revenue, 0)),
            else_=Literal(0))
        return Coalesce(invoiced.amount, 0) + legacy

    @classmethod
    def get_annual_revenue(cls, parties, name):
        party = cls.__table__()
        cursor = Transaction().connection.cursor()
        revenues = defaultdict(Decimal)
        ids = [p.id for p in parties]
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS // 2):
            sub_ids = list(sub_ids)
            invoiced, since = cls._invoiced_query(sub_ids)
            cursor.execute(*party.join(invoiced, 'LEFT',
                    condition=invoiced.party == party.id
                    ).select(
                    party.id,
                    cls._revenue_expression(party, invoiced, since),
                    where=fields.SQL_OPERATORS['in'](party.id, sub_ids)))
            for party_id, amount in cursor:
                # SQLite returns float or int for numeric expressions
                if not isinstance(amount, Decimal):
                    amount = Decimal(str(amount or 0))
                revenues[party_id] = amount.quantize(Decimal('0.01'))
        return {i: revenues[i] for i in ids}

    @classmethod
    def search_annual_revenue(cls, name, clause):
        party = cls.__table__()
        _, operator, value = clause[:3]
        Operator = fields.SQL_OPERATORS[operator]
        invoiced, since = cls._invoiced_query()
        expression = cls._revenue_expression(party, invoiced, since)
        value = cls.annual_revenue._field.sql_format(value)
        if value is not None and backend.name == 'sqlite':
            # SQLite computes the sums as floats
            value = float(value)
        query = party.join(invoiced, 'LEFT',
            condition=invoiced.party == party.id
            ).select(party.id, where=Operator(expression, value))
        return [('id', 'in', query)]

    @classmethod
    def order_annual_revenue(cls, tables):
        party, _ = tables[None]
        if 'annual_revenue' not in tables:
            invoiced, since = cls._invoiced_query()
            tables['annual_revenue'] = {
                None: (invoiced, invoiced.party == party.id),
                }
        invoiced, _ = tables['annual_revenue'][None]
        since = cls._revenue_since()
        return [cls._revenue_expression(party, invoiced, since)]

    @classmethod
    def get_crm_figures(cls, parties, names):
        """The computed figures of the customer list, in one call: Tryton
        then browses the records once for all of them"""
        getters = {
            'meeting_count': cls.get_meeting_count,
            'annual_revenue': cls.get_annual_revenue,
            'next_follow_up': cls.get_next_follow_up,
            }
        return {name: getters[name](parties, name) for name in names}

    @classmethod
    def get_meeting_count(cls, parties, name):
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        meeting = Meeting.__table__()
        party = cls.__table__()
        cursor = Transaction().connection.cursor()
        ids = [p.id for p in parties]
        counts = dict.fromkeys(ids, 0)
        for sub_ids in grouped_slice(ids, backend.MAX_QUERY_PARAMS // 2):
            sub_ids = list(sub_ids)
            held = meeting.select(
                meeting.host.as_('host'), Count().as_('count'),
                where=fields.SQL_OPERATORS['in'](meeting.host, sub_ids)
                & meeting.state.in_(['held', 'closed']),
                group_by=[meeting.host])
            # The former file's count is read here, not through the records
            cursor.execute(*party.join(held, 'LEFT',
                    condition=held.host == party.id).select(
                    party.id,
                    Coalesce(party.legacy_meeting_count, 0)
                    + Coalesce(held.count, 0),
                    where=fields.SQL_OPERATORS['in'](party.id, sub_ids)))
            counts.update(cursor)
        return counts

    @classmethod
    def get_next_follow_up(cls, parties, name):
        pool = Pool()
        Interaction = pool.get('bol_air.interaction')
        interaction = Interaction.__table__()
        cursor = Transaction().connection.cursor()
        dates = dict.fromkeys(p.id for p in parties)
        for sub_ids in grouped_slice(
                list(dates), backend.MAX_QUERY_PARAMS):
            cursor.execute(*interaction.select(
                    interaction.party, Min(interaction.follow_up_date),
                    where=fields.SQL_OPERATORS['in'](
                        interaction.party, list(sub_ids))
                    & (interaction.follow_up_date != Null)
                    & (interaction.follow_up_done == Literal(False)),
                    group_by=[interaction.party]))
            for party_id, date in cursor:
                if isinstance(date, str):
                    # SQLite loses the column type on aggregates
                    date = dt.date.fromisoformat(date)
                dates[party_id] = date
        return dates

    @classmethod
    def update_host_status(cls, parties):
        """Recompute the host status from the meetings the parties host:
        host once a hosted meeting is held (never taken back),
        prospect while a hosted meeting is planned."""
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        parties = cls.browse(parties)
        states = defaultdict(set)
        with without_check_access():
            meetings = Meeting.search([
                    ('host', 'in', [p.id for p in parties]),
                    ('state', 'in', ['planned', 'held', 'closed']),
                    ])
        for meeting in meetings:
            states[meeting.host.id].add(meeting.state)
        to_write = defaultdict(list)
        for party in parties:
            hosted = states[party.id]
            if party.host_status == 'host' or hosted & {'held', 'closed'}:
                status = 'host'
            elif 'planned' in hosted:
                status = 'prospect'
            else:
                status = 'none'
            if status != party.host_status:
                to_write[status].append(party)
        if to_write:
            args = []
            for status, records in to_write.items():
                args.extend((records, {'host_status': status}))
            with without_check_access():
                cls.write(*args)


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('bol_air.meeting', 'host'),
            ('bol_air.meeting.guest', 'party'),
            ('bol_air.interaction', 'party'),
            ('party.party', 'referrer'),
            ]


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Party = pool.get('party.party')
        Interaction = pool.get('bol_air.interaction')
        Meeting = pool.get('bol_air.meeting')
        return super().to_erase(party_id) + [
            (Party, [('id', '=', party_id)], True,
                ['last_name', 'first_name', 'birth_date'],
                [None, None, None]),
            # The summary is required (NOT NULL on PostgreSQL)
            (Interaction, [('party', '=', party_id)], True,
                ['summary'],
                ['****']),
            (Meeting, [('host', '=', party_id)], True,
                ['notes'],
                [None]),
            ]
