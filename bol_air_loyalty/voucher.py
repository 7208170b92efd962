# This file is part of bol_air_loyalty.
"""Purchase vouchers: the host's reward, points exchanged, birthdays and
goodwill gestures. The code is random and long enough not to be guessed;
what is left to spend never goes below zero (database constraint)."""
import calendar
import datetime as dt
import secrets
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sql import Cast
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import (
    Check, Exclude, Index, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval

from bol_air_crm.sale import write_guard

from .exceptions import VoucherError

# No 0/O, 1/I/L: a code read aloud or typed from paper stays unambiguous
CODE_ALPHABET = '23456789ABCDEFGHJKMNPQRSTUVWXYZ'
CODE_LENGTH = 12  # 31**12, about 59 bits
CENT = Decimal('0.01')

KINDS = [
    ('host_reward', "Host Reward"),
    ('redemption', "Points"),
    ('birthday', "Birthday"),
    ('goodwill', "Goodwill Gesture"),
    ]
STATES = [
    ('valid', "Valid"),
    ('used', "Used"),
    ('expired', "Expired"),
    ('cancelled', "Cancelled"),
    ]


def _num(column):
    "The column as a number: SQLite stores decimals as bytes"
    return Cast(column, 'NUMERIC')


def new_code():
    code = ''.join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return '-'.join(code[i:i + 4] for i in range(0, CODE_LENGTH, 4))


class Voucher(ModelSQL, ModelView):
    __name__ = 'bol_air.voucher'
    __string__ = "Purchase Voucher"
    _rec_name = 'code'

    code = fields.Char("Code", readonly=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='RESTRICT',
        states={
            'readonly': Eval('id', -1) >= 0,
            })
    kind = fields.Selection(KINDS, "Kind", required=True, readonly=True)
    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True,
        domain=[('amount', '>=', 0)],
        states={
            'readonly': Eval('id', -1) >= 0,
            },
        help="Value of the voucher, tax included.")
    remaining = fields.Numeric(
        "Remaining", digits=(16, 2), readonly=True,
        help="What is left to spend.")
    shortfall = fields.Numeric(
        "Overspent", digits=(16, 2), readonly=True,
        help="Reduction of the voucher that came after it was spent "
        "(a credit note on the host's meeting): the customer spent this "
        "much more than she is now owed.")
    issue_date = fields.Date("Issued", required=True, readonly=True)
    expiry_date = fields.Date(
        "Expiry Date", required=True,
        states={
            'readonly': Eval('state') != 'valid',
            })
    state = fields.Selection(STATES, "State", readonly=True, required=True)
    state_string = state.translated('state')
    origin = fields.Reference(
        "Origin", selection='get_origins', readonly=True)
    reason = fields.Char(
        "Reason",
        states={
            'required': Eval('kind') == 'goodwill',
            'readonly': Eval('id', -1) >= 0,
            })
    uses = fields.One2Many(
        'bol_air.voucher.use', 'voucher', "Uses", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'bol_air_loyalty.msg_voucher_code_unique'),
            ('remaining_positive', Check(t, _num(t.remaining) >= 0),
                'bol_air_loyalty.msg_voucher_remaining_positive'),
            ('remaining_amount', Check(t, _num(t.remaining) <= _num(t.amount)),
                'bol_air_loyalty.msg_voucher_remaining_amount'),
            # A meeting rewards its host once
            ('host_reward_unique',
                Exclude(t, (t.origin, Equal),
                    where=t.kind == 'host_reward'),
                'bol_air_loyalty.msg_voucher_origin_unique'),
            ]
        cls._sql_indexes.add(Index(
                t, (t.party, Index.Range()), (t.state, Index.Equality())))
        cls._order = [('issue_date', 'DESC'), ('id', 'DESC')]
        cls._buttons.update({
                'cancel': {
                    'invisible': Eval('state') != 'valid',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_kind(cls):
        return 'goodwill'

    @classmethod
    def default_state(cls):
        return 'valid'

    @classmethod
    def default_issue_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_expiry_date(cls):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        return cls.default_issue_date() + relativedelta(
            months=Configuration(1).voucher_validity)

    @classmethod
    def default_shortfall(cls):
        return Decimal(0)

    @classmethod
    def _get_origins(cls):
        return ['bol_air.meeting', 'bol_air.loyalty.account', 'party.party']

    @classmethod
    def get_origins(cls):
        IrModel = Pool().get('ir.model')
        return [(None, '')] + [
            (m, IrModel.get_name(m)) for m in cls._get_origins()]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        for name in ['amount', 'remaining', 'shortfall']:
            if values.get(name) is not None:
                values[name] = Decimal(values[name]).quantize(CENT)
        if mode == 'create':
            values['code'] = new_code()
            values.setdefault('remaining', values.get('amount'))
        return values

    @classmethod
    def copy(cls, vouchers, default=None):
        if not vouchers:
            return []
        raise VoucherError(gettext('bol_air_loyalty.msg_voucher_copy'))

    @classmethod
    def check_modification(cls, mode, vouchers, values=None, external=False):
        super().check_modification(
            mode, vouchers, values=values, external=external)
        if mode == 'delete':
            raise VoucherError(gettext('bol_air_loyalty.msg_voucher_delete'))

    @classmethod
    @ModelView.button
    def cancel(cls, vouchers):
        write_guard(cls, vouchers)
        cls.write([v for v in cls.browse(vouchers) if v.state == 'valid'], {
                'state': 'cancelled',
                })

    @classmethod
    def normalize_code(cls, code):
        "The code as stored, from what a person typed"
        code = ''.join(c for c in (code or '').upper() if c.isalnum())
        return '-'.join(code[i:i + 4] for i in range(0, len(code), 4))

    @classmethod
    def find_code(cls, code, party):
        """The voucher of party with this code. An unknown code and the
        code of another customer's voucher answer the same."""
        vouchers = cls.search([
                ('code', '=', cls.normalize_code(code)),
                ('party', '=', party.id),
                ], limit=1)
        if not vouchers:
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_unknown_code',
                    code=code, party=party.rec_name))
        return vouchers[0]

    def check_usable(self, party, date):
        if self.party != party:
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_unknown_code',
                    code=self.code, party=party.rec_name))
        if self.state != 'valid' or not self.remaining:
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_not_valid',
                    voucher=self.rec_name,
                    state=self.state_string))
        if self.expiry_date < date:
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_expired',
                    voucher=self.rec_name,
                    date=Pool().get('ir.lang').get().strftime(
                        self.expiry_date)))

    @classmethod
    def spend(cls, lines):
        """Spend the vouchers of the deduction lines of orders being
        confirmed: the vouchers' rows are written first (guard row), what
        is left on them read again, then the uses recorded (one per line,
        unique) and what is left lowered; the constraints back the check.
        """
        pool = Pool()
        Use = pool.get('bol_air.voucher.use')
        Date = pool.get('ir.date')
        lines = [l for l in lines if l.voucher]
        if not lines:
            return []
        voucher_ids = sorted({l.voucher.id for l in lines})
        write_guard(cls, voucher_ids)
        today = Date.today()
        vouchers = {v.id: v for v in cls.browse(voucher_ids)}
        remaining = {i: v.remaining for i, v in vouchers.items()}
        values = []
        for line in lines:
            voucher = vouchers[line.voucher.id]
            voucher.check_usable(line.sale.party, today)
            amount = -line.amount_tax_included
            if amount <= 0:
                continue
            if amount > remaining[voucher.id]:
                raise VoucherError(gettext(
                        'bol_air_loyalty.msg_voucher_insufficient',
                        voucher=voucher.rec_name,
                        remaining=remaining[voucher.id],
                        amount=amount, sale=line.sale.rec_name))
            sale = line.sale
            if sale.amount_before_vouchers < -sum(
                    (l.amount_tax_included for l in sale.lines
                        if l.voucher), Decimal(0)):
                raise VoucherError(gettext(
                        'bol_air_loyalty.msg_voucher_exceeds_order',
                        sale=sale.rec_name))
            remaining[voucher.id] -= amount
            values.append({
                    'voucher': voucher.id,
                    'sale_line': line.id,
                    'amount': amount,
                    'date': today,
                    })
        uses = Use.create(values)
        to_write = []
        for voucher_id, left in remaining.items():
            voucher = vouchers[voucher_id]
            if left != voucher.remaining:
                to_write.extend([[voucher], {
                            'remaining': left,
                            'state': 'valid' if left else 'used',
                            }])
        if to_write:
            cls.write(*to_write)
        return uses

    @classmethod
    def reduce_host_rewards(cls, meetings):
        """Lower the host's voucher of closed meetings to their reward
        after credit notes: from what is left to spend, and what was
        already spent is recorded as overspent."""
        vouchers = cls.search([
                ('kind', '=', 'host_reward'),
                ('origin', 'in', [str(m) for m in meetings]),
                ])
        if not vouchers:
            return
        write_guard(cls, vouchers)
        to_save = []
        for voucher in cls.browse(vouchers):
            reward = voucher.origin.host_reward
            if reward is None or reward >= voucher.amount:
                continue
            reduction = voucher.amount - reward
            taken = min(reduction, voucher.remaining)
            voucher.amount = reward
            voucher.remaining -= taken
            voucher.shortfall = (voucher.shortfall or 0) + reduction - taken
            if not voucher.remaining and voucher.state == 'valid':
                voucher.state = 'used'
            to_save.append(voucher)
        cls.save(to_save)

    @classmethod
    def reward_hosts(cls, meetings):
        "Issue once the host's voucher of each closed meeting"
        done = {str(v.origin) for v in cls.search([
                    ('kind', '=', 'host_reward'),
                    ('origin', 'in', [str(m) for m in meetings]),
                    ])}
        today = cls.default_issue_date()
        return cls.create([{
                    'party': m.host.id,
                    'amount': m.host_reward,
                    'kind': 'host_reward',
                    'origin': str(m),
                    'issue_date': today,
                    } for m in meetings
                if str(m) not in done and m.host_reward])

    @classmethod
    def issue_birthday_vouchers(cls, date=None):
        """Offer the configured voucher to the card holders whose birthday
        is today, once a year (scheduled). Born on 29 February: on 28
        February in other years."""
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        Account = pool.get('bol_air.loyalty.account')
        Date = pool.get('ir.date')
        if date is None:
            date = Date.today()
        amount = Configuration(1).birthday_voucher_amount
        if not amount:
            return []
        days = [(date.month, date.day)]
        if (date.month, date.day) == (2, 28) and not calendar.isleap(
                date.year):
            days.append((2, 29))
        parties = [a.party for a in Account.search([
                    ('party.birth_date', '!=', None),
                    ])
            if (a.party.birth_date.month, a.party.birth_date.day) in days]
        if not parties:
            return []
        done = {v.party for v in cls.search([
                    ('kind', '=', 'birthday'),
                    ('party', 'in', [p.id for p in parties]),
                    ('issue_date', '>=', dt.date(date.year, 1, 1)),
                    ])}
        return cls.create([{
                    'party': p.id,
                    'amount': amount,
                    'kind': 'birthday',
                    'origin': str(p),
                    'issue_date': date,
                    'expiry_date': date + relativedelta(
                        months=Configuration(1).voucher_validity),
                    } for p in parties if p not in done])

    @classmethod
    def expire(cls, date=None):
        "Mark expired the valid vouchers past their date (scheduled)"
        if date is None:
            date = cls.default_issue_date()
        vouchers = cls.search([
                ('state', '=', 'valid'),
                ('expiry_date', '<', date),
                ])
        cls.write(vouchers, {'state': 'expired'})
        return vouchers


class VoucherUse(ModelSQL, ModelView):
    "What an order took from a voucher"
    __name__ = 'bol_air.voucher.use'
    __string__ = "Voucher Use"

    voucher = fields.Many2One(
        'bol_air.voucher', "Voucher", required=True, ondelete='RESTRICT',
        readonly=True)
    sale_line = fields.Many2One(
        'sale.line', "Order Line", required=True, ondelete='RESTRICT',
        readonly=True)
    sale = fields.Function(
        fields.Many2One('sale.sale', "Order"), 'get_sale')
    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True, readonly=True)
    date = fields.Date("Date", required=True, readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('sale_line_unique', Unique(t, t.sale_line),
                'bol_air_loyalty.msg_voucher_use_unique'),
            ('amount_positive', Check(t, _num(t.amount) > 0),
                'bol_air_loyalty.msg_voucher_use_amount'),
            ]
        cls._sql_indexes.add(Index(t, (t.voucher, Index.Range())))

    def get_sale(self, name):
        return self.sale_line.sale.id

    @classmethod
    def check_modification(cls, mode, uses, values=None, external=False):
        super().check_modification(
            mode, uses, values=values, external=external)
        if mode in {'write', 'delete'}:
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_use_modify'))
