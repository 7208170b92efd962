# This file is part of bol_air_loyalty.
from decimal import Decimal

from trytond.model import ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Id


class Configuration(metaclass=PoolMeta):
    __name__ = 'bol_air.configuration'

    loyalty_card_sequence = fields.Many2One(
        'ir.sequence', "Loyalty Card Sequence", required=True,
        domain=[
            ('sequence_type', '=',
                Id('bol_air_loyalty', 'sequence_type_loyalty_card')),
            ],
        help="Numbers new loyalty cards; a check digit is added.")
    points_rate = fields.Numeric(
        "Points per Euro", digits=(16, 4), required=True,
        domain=[('points_rate', '>=', 0)],
        help="Points earned per euro of the untaxed amount of a posted "
        "customer invoice, rounded down.")
    points_validity = fields.Integer(
        "Points Validity", required=True,
        domain=[('points_validity', '>', 0)],
        help="In months: older points expire, the oldest first.")
    voucher_validity = fields.Integer(
        "Voucher Validity", required=True,
        domain=[('voucher_validity', '>', 0)],
        help="In months, from the day the voucher is issued.")
    birthday_voucher_amount = fields.Numeric(
        "Birthday Voucher", digits=(16, 2), required=True,
        domain=[('birthday_voucher_amount', '>=', 0)],
        help="Amount of the voucher offered once a year on a card "
        "holder's birthday (0 to offer none).")
    referral_points = fields.Integer(
        "Referral Points", required=True,
        domain=[('referral_points', '>=', 0)],
        help="Points earned by the customer who brought a guest, when the "
        "guest hosts her first meeting.")
    voucher_product = fields.Many2One(
        'product.product', "Voucher Product",
        domain=[('type', '=', 'service')],
        help="The product of the deduction line of a voucher on an order.")

    @classmethod
    def default_loyalty_card_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('bol_air_loyalty', 'sequence_loyalty_card')
        except KeyError:
            return None

    @classmethod
    def default_points_rate(cls):
        return Decimal(1)

    @classmethod
    def default_points_validity(cls):
        return 24

    @classmethod
    def default_voucher_validity(cls):
        return 6

    @classmethod
    def default_birthday_voucher_amount(cls):
        return Decimal(5)

    @classmethod
    def default_referral_points(cls):
        return 50


class RedemptionStep(ModelSQL, ModelView):
    "A step of the ladder: so many points give a voucher of so much"
    __name__ = 'bol_air.loyalty.redemption.step'
    __string__ = "Loyalty Redemption Step"

    points = fields.Integer(
        "Points", required=True, domain=[('points', '>', 0)])
    amount = fields.Numeric(
        "Voucher Amount", digits=(16, 2), required=True,
        domain=[('amount', '>', 0)])

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('points_unique', Unique(t, t.points),
                'bol_air_loyalty.msg_redemption_step_unique'),
            ]
        cls._order.insert(0, ('points', 'ASC'))

    def get_rec_name(self, name):
        return f"{self.points} → {self.amount}"
