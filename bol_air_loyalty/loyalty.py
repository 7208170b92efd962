# This file is part of bol_air_loyalty.
"""Loyalty cards and their points ledger.

The ledger is append-only: a move is never changed nor deleted, a mistake
is corrected by a new move. The card's stored balance is the sum of its
moves, written in the same statement that checks it (guard row first), and
a database constraint keeps it from going below zero."""
import math

from dateutil.relativedelta import relativedelta
from sql import Literal
from sql.aggregate import Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import Abs, DateTrunc
from stdnum import luhn

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    Check, DeactivableMixin, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.report import Report
from trytond.tools import grouped_slice
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from bol_air_crm.sale import write_guard

from .exceptions import LoyaltyError, LoyaltyMoveAccessError

MOVE_KINDS = [
    ('purchase', "Purchase"),
    ('credit', "Credit Note"),
    ('redemption', "Redemption"),
    ('referral', "Referral"),
    ('bonus', "Bonus"),
    ('expiry', "Expiry"),
    ('correction', "Correction"),
    ]


class Account(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'bol_air.loyalty.account'
    __string__ = "Loyalty Card"
    _rec_name = 'number'

    number = fields.Char(
        "Number", readonly=True,
        help="The card number; its last digit is a check digit.")
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='RESTRICT',
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    join_date = fields.Date("Joined", required=True)
    balance = fields.Integer(
        "Balance", readonly=True,
        help="Points available: the sum of the card's moves.")
    moves = fields.One2Many(
        'bol_air.loyalty.move', 'account', "Moves", readonly=True,
        order=[('date', 'DESC'), ('id', 'DESC')])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.number),
                'bol_air_loyalty.msg_account_number_unique'),
            ('party_unique', Unique(t, t.party),
                'bol_air_loyalty.msg_account_party_unique'),
            ('balance_positive', Check(t, t.balance >= 0),
                'bol_air_loyalty.msg_account_balance_positive'),
            ]
        cls._order.insert(0, ('number', 'DESC'))
        cls._buttons.update({
                'redeem': {
                    'invisible': ~Eval('active', False),
                    'depends': ['active'],
                    },
                })

    @property
    def number_formatted(self):
        "The number by groups of 4 digits, as printed on the card"
        number = self.number or ''
        return ' '.join(number[i:i + 4] for i in range(0, len(number), 4))

    @property
    def company_name(self):
        pool = Pool()
        Company = pool.get('company.company')
        company_id = Transaction().context.get('company')
        if company_id:
            return Company(company_id).party.name
        companies = Company.search([], limit=1)
        return companies[0].party.name if companies else ''

    @classmethod
    def default_join_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_balance(cls):
        return 0

    def get_rec_name(self, name):
        return f"{self.number} - {self.party.rec_name}"

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, operand, *extra = clause
        if operator.startswith('!') or operator.startswith('not '):
            bool_op = 'AND'
        else:
            bool_op = 'OR'
        return [bool_op,
            ('number', operator, operand, *extra),
            ('party.rec_name', operator, operand, *extra),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            number = Configuration(1).loyalty_card_sequence.get()
            values['number'] = number + luhn.calc_check_digit(number)
        # Only the sum of the moves sets the balance (update_balances)
        values.pop('balance', None)
        if mode == 'create':
            values['balance'] = 0
        return values

    @classmethod
    def copy(cls, accounts, default=None):
        if not accounts:
            return []
        raise LoyaltyError(gettext('bol_air_loyalty.msg_account_copy'))

    @classmethod
    def check_number(cls, number):
        "Whether number is a well-formed card number (check digit)"
        return bool(number) and number.isdigit() and luhn.is_valid(number)

    @classmethod
    def current_balances(cls, account_ids):
        "The sum of the moves of each card, read from the database"
        pool = Pool()
        Move = pool.get('bol_air.loyalty.move')
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        balances = dict.fromkeys(account_ids, 0)
        for sub_ids in grouped_slice(account_ids, backend.MAX_QUERY_PARAMS):
            sub_ids = list(sub_ids)
            cursor.execute(*move.select(
                    move.account, Sum(move.points),
                    where=fields.SQL_OPERATORS['in'](move.account, sub_ids),
                    group_by=move.account))
            for account_id, points in cursor:
                balances[account_id] = int(points or 0)
        return balances

    @classmethod
    def update_balances(cls, account_ids):
        "Set the stored balance of the cards to the sum of their moves"
        pool = Pool()
        Move = pool.get('bol_air.loyalty.move')
        table = cls.__table__()
        move = Move.__table__()
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice(account_ids, backend.MAX_QUERY_PARAMS):
            sub_ids = list(sub_ids)
            cursor.execute(*table.update(
                    [table.balance],
                    [Coalesce(move.select(
                                Sum(move.points),
                                where=move.account == table.id),
                            Literal(0))],
                    where=fields.SQL_OPERATORS['in'](table.id, sub_ids)))
        cls._fix_cache(account_ids)

    @classmethod
    def _fix_cache(cls, ids):
        "Forget the cached balances that changed under the ORM"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            if cls.__name__ in cache:
                cache_cls = cache[cls.__name__]
                for id_ in ids:
                    cache_cls.pop(id_, None)

    @classmethod
    def for_parties(cls, parties):
        "Return the active card of each party that has one"
        accounts = cls.search([
                ('party', 'in', [p.id for p in parties]),
                ])
        return {a.party.id: a for a in accounts}

    @classmethod
    def expire_points(cls, date=None):
        """Expire the points older than the configured months that were
        not used, the oldest first (scheduled): what was earned before
        the limit, less all that was ever taken (uses, credit notes,
        earlier expiries). Return the expiry moves."""
        pool = Pool()
        Move = pool.get('bol_air.loyalty.move')
        Configuration = pool.get('bol_air.configuration')
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        limit = date - relativedelta(
            months=Configuration(1).points_validity)
        move = Move.__table__()
        account = cls.__table__()
        cursor = Transaction().connection.cursor()
        old = Sum(Case(
                ((move.points > 0) & (move.date < limit), move.points),
                else_=0))
        taken = Sum(Case((move.points < 0, -move.points), else_=0))
        cursor.execute(*move.join(
                account, condition=move.account == account.id).select(
                move.account, old - taken,
                where=account.active == Literal(True),
                group_by=move.account,
                having=old > taken))
        values = [{
                'account': account_id,
                'date': date,
                'points': -int(points),
                'kind': 'expiry',
                } for account_id, points in cursor]
        return Move.create(values) if values else []

    @classmethod
    def award_referrals(cls, meetings):
        """The customer who brought the host of her first meeting earns the
        referral points, once per meeting (unique origin)."""
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        Meeting = pool.get('bol_air.meeting')
        Move = pool.get('bol_air.loyalty.move')
        points = Configuration(1).referral_points
        meetings = [m for m in meetings
            if m.state == 'closed' and m.host.referrer]
        if not points or not meetings:
            return []
        accounts = cls.for_parties({m.host.referrer for m in meetings})
        meetings = [m for m in meetings if m.host.referrer.id in accounts]
        if not meetings:
            return []
        # The host's first meeting: none of hers closed before, and no
        # referral paid yet for one of hers
        closed = Meeting.search([
                ('host', 'in', [m.host.id for m in meetings]),
                ('state', '=', 'closed'),
                ])
        paid = {m.origin.host for m in Move.search([
                    ('kind', '=', 'referral'),
                    ('origin', 'in', [str(m) for m in closed]),
                    ])}
        values = []
        for meeting in sorted(meetings, key=lambda m: (m.date, m.id)):
            host = meeting.host
            if host in paid or any(
                    (m.date, m.id) < (meeting.date, meeting.id)
                    for m in closed if m.host == host):
                continue
            paid.add(host)
            values.append({
                    'account': accounts[host.referrer.id].id,
                    'points': points,
                    'kind': 'referral',
                    'origin': str(meeting),
                    })
        return Move.create(values) if values else []

    @classmethod
    @ModelView.button_action('bol_air_loyalty.wizard_redeem')
    def redeem(cls, accounts):
        pass

    def redeem_points(self, step):
        """Exchange the points of step for a voucher; return the voucher.
        Creating the move writes the card's guard row and checks the
        balance: without enough points, nothing is kept."""
        pool = Pool()
        Voucher = pool.get('bol_air.voucher')
        Move = pool.get('bol_air.loyalty.move')
        if not self.active:
            raise LoyaltyError(gettext(
                    'bol_air_loyalty.msg_account_inactive',
                    account=self.rec_name))
        # The button's access is the check: staff who may exchange points
        # may not write moves nor vouchers by hand
        with without_check_access():
            voucher, = Voucher.create([{
                        'party': self.party.id,
                        'amount': step.amount,
                        'kind': 'redemption',
                        'origin': str(self),
                        }])
            Move.create([{
                        'account': self.id,
                        'points': -step.points,
                        'kind': 'redemption',
                        'origin': str(voucher),
                        }])
        return voucher


class Move(ModelSQL, ModelView):
    __name__ = 'bol_air.loyalty.move'
    __string__ = "Loyalty Move"

    account = fields.Many2One(
        'bol_air.loyalty.account', "Card", required=True,
        ondelete='RESTRICT')
    party = fields.Function(
        fields.Many2One('party.party', "Customer"),
        'get_party', searcher='search_party')
    date = fields.Date("Date", required=True)
    points = fields.Integer("Points", required=True)
    kind = fields.Selection(MOVE_KINDS, "Kind", required=True, sort=False)
    origin = fields.Reference(
        "Origin", selection='get_origins',
        help="What the points come from or went to.")
    reason = fields.Char(
        "Reason",
        states={
            'required': Eval('kind') == 'correction',
            })
    unrecovered = fields.Integer(
        "Unrecovered Points",
        help="Points a credit note should have taken back but the "
        "customer had already used.")
    recorded_by = fields.Function(
        fields.Many2One('res.user', "Recorded by"), 'get_recorded_by')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('points_not_zero',
                Check(t, (t.points != 0) | (t.unrecovered > 0)),
                'bol_air_loyalty.msg_move_points_zero'),
            # One move of a kind per origin: an invoice earns once, a
            # credit note takes back once, a voucher is paid once
            ('origin_unique', Unique(t, t.kind, t.origin),
                'bol_air_loyalty.msg_move_origin_unique'),
            ]
        cls._sql_indexes.add(Index(
                t, (t.account, Index.Range()), (t.date, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def _get_origins(cls):
        return [
            'account.invoice', 'bol_air.voucher', 'bol_air.meeting',
            'bol_air.loyalty.move']

    @classmethod
    def get_origins(cls):
        pool = Pool()
        IrModel = pool.get('ir.model')
        models = cls._get_origins()
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in models]

    def get_party(self, name):
        return self.account.party.id

    @classmethod
    def search_party(cls, name, clause):
        return [('account.party' + clause[0][len(name):], *clause[1:])]

    def get_recorded_by(self, name):
        return self.create_uid.id if self.create_uid else None

    def get_rec_name(self, name):
        return f"{self.account.number} {self.points:+d}"

    @classmethod
    def create(cls, vlist):
        """Post moves: the cards are written first (guard row), their
        balance read again and checked, then the moves created and the
        balance set to the sum of the moves in one statement. The
        constraint on the card backs the check."""
        pool = Pool()
        Account = pool.get('bol_air.loyalty.account')
        account_ids = sorted({v['account'] for v in vlist})
        write_guard(Account, account_ids)
        balances = Account.current_balances(account_ids)
        for value in vlist:
            balances[value['account']] += value.get('points') or 0
        negative = [a for a, b in balances.items() if b < 0]
        if negative:
            account = Account(negative[0])
            raise LoyaltyError(gettext(
                    'bol_air_loyalty.msg_account_balance_insufficient',
                    account=account.rec_name,
                    balance=Account.current_balances([account.id])[
                        account.id],
                    points=-sum(v.get('points') or 0 for v in vlist
                        if v['account'] == account.id)))
        moves = super().create(vlist)
        Account.update_balances(account_ids)
        return moves

    @classmethod
    def check_modification(cls, mode, moves, values=None, external=False):
        super().check_modification(
            mode, moves, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise LoyaltyMoveAccessError(gettext(
                    'bol_air_loyalty.msg_move_append_only'))

    @classmethod
    def copy(cls, moves, default=None):
        if not moves:
            return []
        raise LoyaltyMoveAccessError(gettext(
                'bol_air_loyalty.msg_move_append_only'))

    @classmethod
    def earn_from_invoices(cls, invoices):
        """Credit the points of posted customer invoices and take back
        those of credit notes, once each (unique origin)."""
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        Account = pool.get('bol_air.loyalty.account')
        InvoiceLine = pool.get('account.invoice.line')
        invoices = [i for i in invoices
            if i.type == 'out' and i.state in {'posted', 'paid'}]
        if not invoices:
            return []
        accounts = Account.for_parties({i.party for i in invoices})
        invoices = [i for i in invoices if i.party.id in accounts]
        if not invoices:
            return []
        done = {str(m.origin) for m in cls.search([
                    ('origin', 'in', [str(i) for i in invoices]),
                    ('kind', 'in', ['purchase', 'credit']),
                    ])}
        # A credit note takes back nothing of invoices that earned nothing
        # (posted before the customer joined)
        credited = {i: {l.origin.invoice for l in i.lines
                if isinstance(l.origin, InvoiceLine)}
            for i in invoices if i.untaxed_amount < 0}
        sources = {str(i) for c in credited.values() for i in c}
        earned = {str(m.origin) for m in cls.search([
                    ('origin', 'in', list(sources)),
                    ('kind', '=', 'purchase'),
                    ])} if sources else set()
        rate = Configuration(1).points_rate
        balances = {}
        if credited:
            # What a credit note can take back: guard rows first
            account_ids = sorted({accounts[i.party.id].id for i in credited})
            write_guard(Account, account_ids)
            balances = Account.current_balances(account_ids)
        values = []
        for invoice in invoices:
            if str(invoice) in done:
                continue
            if credited.get(invoice) and not any(
                    str(i) in earned for i in credited[invoice]):
                continue
            account = accounts[invoice.party.id]
            points = math.floor(abs(invoice.untaxed_amount) * rate)
            if not points:
                continue
            value = {
                'account': account.id,
                'date': invoice.invoice_date,
                'origin': str(invoice),
                }
            if invoice.untaxed_amount > 0:
                value.update(points=points, kind='purchase')
                if account.id in balances:
                    balances[account.id] += points
            else:
                # The points already used cannot be taken back: the move
                # says how many were not
                taken = min(points, balances[account.id])
                value.update(
                    points=-taken, kind='credit', unrecovered=points - taken)
                balances[account.id] -= taken
            values.append(value)
        return cls.create(values) if values else []


class RedeemStart(ModelView):
    __name__ = 'bol_air.loyalty.redeem.start'
    __string__ = "Redeem Points"

    account = fields.Many2One(
        'bol_air.loyalty.account', "Card", readonly=True)
    balance = fields.Integer("Balance", readonly=True)
    step = fields.Many2One(
        'bol_air.loyalty.redemption.step', "Voucher", required=True,
        domain=[('points', '<=', Eval('balance', 0))],
        help="The points exchanged and the amount of the voucher.")


class Redeem(Wizard):
    "Exchange points for a voucher"
    __name__ = 'bol_air.loyalty.redeem'

    start = StateView(
        'bol_air.loyalty.redeem.start',
        'bol_air_loyalty.redeem_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Redeem", 'redeem', 'tryton-ok', default=True),
            ])
    redeem = StateTransition()

    def default_start(self, fields):
        return {
            'account': self.record.id,
            'balance': self.record.balance,
            }

    def transition_redeem(self):
        self.record.redeem_points(self.start.step)
        return 'end'


class CardReport(Report):
    "The printable loyalty card (PDF, credit card size)"
    __name__ = 'bol_air.loyalty.account.card'


class MoveMonthly(ModelSQL, ModelView):
    "Points issued, redeemed, taken back and expired by month"
    __name__ = 'bol_air.loyalty.move.monthly'
    __string__ = "Loyalty Points per Month"

    month = fields.Date("Month")
    issued = fields.Integer(
        "Issued", help="Points earned: purchases, referrals, bonuses.")
    redeemed = fields.Integer(
        "Redeemed", help="Points exchanged for vouchers.")
    taken_back = fields.Integer(
        "Taken Back", help="Points of credit notes and corrections.")
    expired = fields.Integer("Expired")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        pool = Pool()
        Move = pool.get('bol_air.loyalty.move')
        move = Move.__table__()
        # Grouped in an outer query: PostgreSQL does not match the
        # parameter of DATE_TRUNC in GROUP BY with the one in SELECT
        moves = move.select(
            move.id, move.points, move.kind,
            cls.month.sql_cast(DateTrunc('month', move.date)).as_('month'))

        def total(condition):
            return Sum(Case((condition, Abs(moves.points)), else_=0))
        redemption = moves.kind == 'redemption'
        expiry = moves.kind == 'expiry'
        return moves.select(
            Min(moves.id).as_('id'),
            moves.month.as_('month'),
            total(moves.points > 0).as_('issued'),
            total((moves.points < 0) & redemption).as_('redeemed'),
            total((moves.points < 0) & ~redemption & ~expiry).as_(
                'taken_back'),
            total((moves.points < 0) & expiry).as_('expired'),
            group_by=[moves.month])
