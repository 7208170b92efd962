# This file is part of bol_air_loyalty.
from trytond.pool import PoolMeta


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('bol_air.voucher|expire', "Expire Purchase Vouchers"),
                ('bol_air.voucher|issue_birthday_vouchers',
                    "Offer Birthday Vouchers"),
                ('bol_air.loyalty.account|expire_points',
                    "Expire Loyalty Points"),
                ])
