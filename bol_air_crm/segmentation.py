# This file is part of bol_air_crm.
"""RFM scores (recency, frequency, monetary) and personae (segments) of the
customers, computed in SQL for the whole customer file at once."""
from dateutil.relativedelta import relativedelta
from sql import Cast, Column, Literal, Null, Select, Window
from sql.aggregate import Count, Max, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Function, PercentRank
from sql.operators import BinaryOperator, IsDistinct, Or

from trytond import backend
from trytond.model import (
    Index, ModelSingleton, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .party import HOST_STATUSES

SCORINGS = [
    ('quintiles', "Quintiles of the customers"),
    ('thresholds', "Thresholds"),
    ]
PURCHASED = [
    (None, ""),
    ('yes', "Has bought"),
    ('no', "Never bought"),
    ]
DIMENSIONS = ['recency', 'frequency', 'monetary']
# The party columns the computation writes, the segment last
SEGMENTATION_COLUMNS = [
    'rfm_last_purchase', 'rfm_purchases', 'rfm_amount',
    'rfm_recency', 'rfm_frequency', 'rfm_monetary', 'segment']


def _numeric(column):
    "The column of a Numeric field, comparable on SQLite (stored as bytes)"
    if backend.name == 'sqlite':
        return Cast(column, 'NUMERIC')
    return column


class CurrentSetting(Function):
    __slots__ = ()
    _function = 'CURRENT_SETTING'


class SetConfig(Function):
    __slots__ = ()
    _function = 'SET_CONFIG'


class _IsNot(BinaryOperator):
    "SQLite's IS NOT: the null-safe inequality of any two values"
    __slots__ = ()
    _operator = 'IS NOT'


def _distinct(column, value):
    "Whether the column's value differs from value, NULL included"
    if backend.name == 'sqlite':
        return _IsNot(column, value)
    return IsDistinct(column, value)


def _score_domain(name):
    return ['OR', (name, '=', None),
        [(name, '>=', 1), (name, '<=', 5)]]


def _threshold(field, string, help):
    "A threshold field, required with the thresholds scoring"
    return field(
        string, help=help,
        states={
            'required': Eval('scoring') == 'thresholds',
            'invisible': Eval('scoring') != 'thresholds',
            })


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'bol_air.segmentation.configuration'
    __string__ = "Segmentation Configuration"

    window_months = fields.Integer(
        "Analysis Window", required=True,
        domain=[('window_months', '>', 0)],
        help="In months: the purchases and the amount count the invoices "
        "of this period, up to today.")
    scoring = fields.Selection(
        SCORINGS, "Scoring", required=True,
        help="Quintiles: each score splits the customers who bought in five "
        "groups of the same size (5 = the best fifth). "
        "Thresholds: the scores follow the values below.")
    recency_5 = _threshold(
        fields.Integer, "Recency 5 Within",
        "In days: recency 5 when the last purchase is this recent.")
    recency_4 = _threshold(
        fields.Integer, "Recency 4 Within",
        "In days: recency 4 when the last purchase is this recent.")
    recency_3 = _threshold(
        fields.Integer, "Recency 3 Within",
        "In days: recency 3 when the last purchase is this recent.")
    recency_2 = _threshold(
        fields.Integer, "Recency 2 Within",
        "In days: recency 2 when the last purchase is this recent "
        "(1 otherwise).")
    frequency_5 = _threshold(
        fields.Integer, "Frequency 5 From",
        "Frequency 5 from this number of purchases over the window.")
    frequency_4 = _threshold(
        fields.Integer, "Frequency 4 From",
        "Frequency 4 from this number of purchases over the window.")
    frequency_3 = _threshold(
        fields.Integer, "Frequency 3 From",
        "Frequency 3 from this number of purchases over the window.")
    frequency_2 = _threshold(
        fields.Integer, "Frequency 2 From",
        "Frequency 2 from this number of purchases over the window "
        "(1 below).")
    monetary_5 = _threshold(
        fields.Numeric, "Amount 5 From",
        "Amount score 5 from this untaxed amount over the window.")
    monetary_4 = _threshold(
        fields.Numeric, "Amount 4 From",
        "Amount score 4 from this untaxed amount over the window.")
    monetary_3 = _threshold(
        fields.Numeric, "Amount 3 From",
        "Amount score 3 from this untaxed amount over the window.")
    monetary_2 = _threshold(
        fields.Numeric, "Amount 2 From",
        "Amount score 2 from this untaxed amount over the window "
        "(1 below).")
    computation_date = fields.Date(
        "Last Computation", readonly=True,
        help="When the scores and the segments were last computed.")

    @classmethod
    def default_window_months(cls):
        return 24

    @classmethod
    def default_scoring(cls):
        return 'quintiles'


class Segment(sequence_ordered(), ModelSQL, ModelView):
    "A persona: the first rule (by sequence) a customer matches is hers"
    __name__ = 'bol_air.segment'
    __string__ = "Segment"

    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code", required=True)
    purchased = fields.Selection(
        PURCHASED, "Purchases",
        help="Only customers who have bought (ever) or who never did.")
    host_status = fields.Selection(
        [(None, "")] + HOST_STATUSES, "Host Status",
        help="Only customers with this host status.")
    recency_min = fields.Integer(
        "Minimum Recency", domain=[_score_domain('recency_min')])
    recency_max = fields.Integer(
        "Maximum Recency", domain=[_score_domain('recency_max')])
    frequency_min = fields.Integer(
        "Minimum Frequency", domain=[_score_domain('frequency_min')])
    frequency_max = fields.Integer(
        "Maximum Frequency", domain=[_score_domain('frequency_max')])
    monetary_min = fields.Integer(
        "Minimum Amount Score", domain=[_score_domain('monetary_min')])
    monetary_max = fields.Integer(
        "Maximum Amount Score", domain=[_score_domain('monetary_max')])
    customer_count = fields.Function(
        fields.Integer("Customers"), 'get_customer_count')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.code, Index.Equality())))

    def condition(self, party):
        "SQL condition on the party table of the customers of the rule"
        condition = Literal(True)
        if self.purchased == 'yes':
            condition &= party.rfm_last_purchase != Null
        elif self.purchased == 'no':
            condition &= party.rfm_last_purchase == Null
        if self.host_status:
            condition &= party.host_status == self.host_status
        for dimension in DIMENSIONS:
            column = getattr(party, f'rfm_{dimension}')
            minimum = getattr(self, f'{dimension}_min')
            maximum = getattr(self, f'{dimension}_max')
            if minimum is not None:
                condition &= column >= minimum
            if maximum is not None:
                condition &= column <= maximum
        return condition

    @classmethod
    def get_customer_count(cls, segments, name):
        pool = Pool()
        Party = pool.get('party.party')
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        counts = {s.id: 0 for s in segments}
        for sub_ids in grouped_slice(list(counts), backend.MAX_QUERY_PARAMS):
            cursor.execute(*party.select(
                    party.segment, Count(),
                    where=fields.SQL_OPERATORS['in'](
                        party.segment, list(sub_ids))
                    & (party.active == Literal(True)),
                    group_by=[party.segment]))
            counts.update(cursor)
        return counts


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    rfm_recency = fields.Integer(
        "Recency", readonly=True, loading='lazy',
        help="From 1 to 5: 5 for the most recent buyers.")
    rfm_frequency = fields.Integer(
        "Frequency", readonly=True, loading='lazy',
        help="From 1 to 5: 5 for those who buy most often.")
    rfm_monetary = fields.Integer(
        "Amount Score", readonly=True, loading='lazy',
        help="From 1 to 5: 5 for those who spend the most.")
    segment = fields.Many2One(
        'bol_air.segment', "Segment", readonly=True, ondelete='SET NULL')
    rfm_last_purchase = fields.Date(
        "Last Purchase", readonly=True, loading='lazy',
        help="Date of the latest posted invoice.")
    rfm_purchases = fields.Integer(
        "Purchases", readonly=True, loading='lazy',
        help="Posted invoices over the analysis window.")
    rfm_amount = fields.Numeric(
        "Purchase Amount", digits=(16, 2), readonly=True, loading='lazy',
        help="Untaxed amount invoiced over the analysis window, "
        "less the credit notes.")
    rfm_date = fields.Function(fields.Date(
            "Segmented On",
            help="When the scores and the segment were last computed."),
        'get_rfm_date')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.segment, Index.Equality()),
                where=t.segment != Null))

    @classmethod
    def read(cls, ids, fields_names):
        """Label the values of the static selections once for all the rows:
        Tryton looks the labels up row by row (through fields_get), which
        the web client asks for every row of a list"""
        labels = {}
        for name in fields_names:
            if not name.endswith(':string'):
                continue
            field = cls._fields.get(name[:-len(':string')])
            if (field is not None and field._type == 'selection'
                    and not isinstance(field.selection, str)
                    and not field.context
                    and not getattr(field, 'datetime_field', None)):
                labels[name] = field
        if not labels:
            return super().read(ids, fields_names)
        names = [n for n in fields_names if n not in labels]
        extra = {f.name for f in labels.values()} - set(names)
        rows = super().read(ids, names + sorted(extra))
        for label, field in labels.items():
            selection = field.get_selection(cls, field.name, None)
            for row in rows:
                row[label] = field.get_selection_string(
                    selection, row[field.name])
        for row in rows:
            for name in extra:
                del row[name]
        return rows

    @classmethod
    def segmentation_excluded_query(cls):
        """SQL query (column party) of the people to leave out of the
        profiling, or None for nobody"""
        return None

    @classmethod
    def _segmentation_stats_query(cls, since, today):
        "Per party: last purchase, purchases and amount over the window"
        pool = Pool()
        Invoice = pool.get('account.invoice')
        invoice = Invoice.__table__()
        amount = Coalesce(_numeric(invoice.untaxed_amount_cache), 0)
        # A purchase is a posted invoice, not a credit note nor an invoice
        # cancelled by one
        purchase = invoice.state.in_(['posted', 'paid']) & (amount > 0)
        in_window = invoice.invoice_date > since
        return invoice.select(
            invoice.party.as_('party'),
            Max(Case((purchase, invoice.invoice_date))).as_('last_purchase'),
            Sum(Case((purchase & in_window, 1), else_=0)).as_('purchases'),
            Sum(Case((in_window, amount), else_=0)).as_('amount'),
            where=cls._invoiced_where(invoice, until=today),
            group_by=[invoice.party])

    @classmethod
    def _rfm_threshold_scores(cls, party, config, today):
        "The score expressions of the configured thresholds"
        def score(column, thresholds):
            return Case(
                *((column >= value, Literal(s)) for s, value in thresholds),
                else_=Literal(1))
        recency = [
            (s, today - relativedelta(days=getattr(config, f'recency_{s}')))
            for s in range(5, 1, -1)]
        frequency = [(s, getattr(config, f'frequency_{s}'))
            for s in range(5, 1, -1)]
        monetary = [(s, getattr(config, f'monetary_{s}'))
            for s in range(5, 1, -1)]
        if backend.name == 'sqlite':
            monetary = [(s, float(v)) for s, v in monetary]
        return [
            score(party.rfm_last_purchase, recency),
            score(party.rfm_purchases, frequency),
            score(_numeric(party.rfm_amount), monetary),
            ]

    @classmethod
    def _rfm_quintile_scores(cls, base):
        """The score expressions by quintiles: 5 for the top fifth by percent
        rank. For frequency and amount ties share the lowest rank, so a value
        most have never gets a high score; for recency they share the
        highest: the buyers of one meeting, all on the same day, are as
        recent as the latest of them. Recency ranks everyone who ever
        bought, frequency and amount those who bought over the window (1 for
        the others)."""
        scored = base.rfm_last_purchase != Null
        bought = base.rfm_purchases > 0
        # One window (one sort) a dimension
        ranked = base.select(
            base.id, base.host_status, base.rfm_last_purchase,
            base.rfm_purchases, base.rfm_amount,
            # 1 - rank from the most recent: ties get the highest rank,
            # distinct dates the same rank as in ascending order
            (Literal(1) - PercentRank(window=Window([scored],
                        order_by=[base.rfm_last_purchase.desc]))).as_(
                'recency'),
            PercentRank(window=Window([bought],
                    order_by=[base.rfm_purchases.asc])).as_('frequency'),
            PercentRank(window=Window([bought],
                    order_by=[_numeric(base.rfm_amount).asc])).as_(
                'monetary'))

        def quintile(rank):
            return Case(
                (rank >= 0.8, 5), (rank >= 0.6, 4), (rank >= 0.4, 3),
                (rank >= 0.2, 2), else_=1)
        scored = ranked.rfm_last_purchase != Null
        bought = ranked.rfm_purchases > 0
        return ranked, [
            Case((scored, quintile(ranked.recency))),
            Case((bought, quintile(ranked.frequency)), (scored, 1)),
            Case((bought, quintile(ranked.monetary)), (scored, 1)),
            ]

    @classmethod
    def _segmentation_query(cls, config, today):
        """The query of the new values of every party to segment: the
        customers, and the former customers still holding values"""
        pool = Pool()
        Segment = pool.get('bol_air.segment')
        party = cls.__table__()
        since = today - relativedelta(months=config.window_months)
        stats = cls._segmentation_stats_query(since, today)
        customer = party.crm_customer == Literal(True)
        excluded = cls.segmentation_excluded_query()
        if excluded is not None:
            profiled = customer & ~party.id.in_(excluded)
        else:
            profiled = customer
        people = party.select(
            party.id.as_('id'),
            party.host_status.as_('host_status'),
            profiled.as_('profiled'),
            where=customer | (party.rfm_purchases != Null)
            | (party.segment != Null))
        # Nothing known for the people left out, no purchase yet for the
        # others
        profiled = people.profiled == Literal(True)
        base = people.join(stats, 'LEFT',
            condition=stats.party == people.id).select(
            people.id.as_('id'),
            people.host_status.as_('host_status'),
            Case((profiled, stats.last_purchase)).as_('rfm_last_purchase'),
            Case((profiled, Coalesce(stats.purchases, 0))).as_(
                'rfm_purchases'),
            Case((profiled, Coalesce(stats.amount, 0))).as_('rfm_amount'))

        if config.scoring == 'thresholds':
            source = base
            scores = [Case((base.rfm_last_purchase != Null, s))
                for s in cls._rfm_threshold_scores(base, config, today)]
        else:
            source, scores = cls._rfm_quintile_scores(base)
        scored = source.select(
            source.id, source.host_status, source.rfm_last_purchase,
            source.rfm_purchases, source.rfm_amount,
            *(s.as_(f'rfm_{d}') for s, d in zip(scores, DIMENSIONS)))

        segments = Segment.search([])
        if segments:
            # Those left out have no purchase count
            segment = Case(
                *((s.condition(scored), s.id) for s in segments))
            segment = Case((scored.rfm_purchases != Null, segment))
        else:
            segment = Cast(Literal(None), cls.segment.sql_type().base)
        return scored.select(
            scored.id,
            *(Column(scored, n) for n in SEGMENTATION_COLUMNS[:-1]),
            segment.as_('segment'))

    @classmethod
    def compute_segmentation(cls):
        """Compute the RFM scores and the segment of every customer in one
        UPDATE statement, whatever their number, writing only the rows
        whose values change"""
        pool = Pool()
        Configuration = pool.get('bol_air.segmentation.configuration')
        Date = pool.get('ir.date')
        party = cls.__table__()
        cursor = Transaction().connection.cursor()
        config = Configuration(1)
        today = Date.today()
        # First, as creating the configuration may lock its table
        with without_check_access():
            Configuration.write([config], {'computation_date': today})
        new = cls._segmentation_query(config, today)

        changed = []
        for name in SEGMENTATION_COLUMNS:
            old, value = Column(party, name), Column(new, name)
            if name == 'rfm_amount':
                old, value = _numeric(old), _numeric(value)
            changed.append(_distinct(old, value))
        if backend.name == 'postgresql':
            # PostgreSQL would spend more time compiling the query (JIT)
            # than running it
            cursor.execute(*Select([CurrentSetting('jit')]))
            jit, = cursor.fetchone()
            cursor.execute(*Select([SetConfig('jit', 'off', True)]))
        cursor.execute(*party.update(
                [Column(party, n) for n in SEGMENTATION_COLUMNS],
                [Column(new, n) for n in SEGMENTATION_COLUMNS],
                from_=[new],
                where=(new.id == party.id) & Or(changed)))
        if backend.name == 'postgresql':
            cursor.execute(*Select([SetConfig('jit', jit, True)]))
        cls._clear_segmentation_cache()

    @classmethod
    def get_rfm_date(cls, parties, name):
        pool = Pool()
        Configuration = pool.get('bol_air.segmentation.configuration')
        date = Configuration(1).computation_date
        return {p.id: date if p.crm_customer else None for p in parties}

    @classmethod
    def _clear_segmentation_cache(cls):
        "Forget the records read before the UPDATE statements"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            if cls.__name__ in cache:
                cache[cls.__name__].clear()


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Party = pool.get('party.party')
        names = [
            'rfm_recency', 'rfm_frequency', 'rfm_monetary', 'segment',
            'rfm_last_purchase', 'rfm_purchases', 'rfm_amount']
        return super().to_erase(party_id) + [
            (Party, [('id', '=', party_id)], True, names,
                [None] * len(names)),
            ]


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('party.party|compute_segmentation',
                "Compute Customer Segments"))


class ComputeStart(ModelView):
    __name__ = 'bol_air.segmentation.compute.start'
    __string__ = "Compute Segments"


class Compute(Wizard):
    "Compute again the scores and the segment of every customer"
    __name__ = 'bol_air.segmentation.compute'
    start = StateView(
        'bol_air.segmentation.compute.start',
        'bol_air_crm.segmentation_compute_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Compute", 'compute', 'tryton-ok', default=True),
            ])
    compute = StateTransition()

    def transition_compute(self):
        pool = Pool()
        Party = pool.get('party.party')
        Party.compute_segmentation()
        return 'end'

    def end(self):
        return 'reload'
