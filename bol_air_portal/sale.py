# This file is part of bol_air_portal.
"""Orders taken on the portal: the customer's cart is her draft order
flagged as online; confirming it goes through the CRM's one path to the
invoice."""
import secrets

from sql.operators import Equal

from trytond.model import Exclude, fields
from trytond.pool import PoolMeta


def new_token():
    return secrets.token_urlsafe(24)


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    portal = fields.Boolean(
        "Ordered Online", readonly=True,
        help="The customer placed the order on the portal.")
    portal_token = fields.Char(
        "Portal Submission Token", readonly=True,
        states={
            'invisible': True,
            },
        help="Changes with each change of the cart: the checkout form "
        "carries it, so that the same form sent twice makes one order.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            # One open cart per customer
            ('portal_cart_unique',
                Exclude(t, (t.party, Equal),
                    where=(t.portal == True)  # noqa: E712
                    & (t.state == 'draft')),
                'bol_air_portal.msg_sale_portal_cart_unique'),
            ]

    @classmethod
    def default_portal(cls):
        return False

    @classmethod
    def crm_domain(cls):
        "The portal's orders are the CRM's too"
        return [['OR', super().crm_domain(), [('portal', '=', True)]]]

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('portal', False)
        default.setdefault('portal_token', None)
        return super().copy(sales, default=default)

    def portal_touch(self):
        "A new submission token: the cart changed (save after)"
        self.portal_token = new_token()

    @property
    def portal_product_lines(self):
        return [l for l in self.lines
            if l.type == 'line' and not getattr(l, 'voucher', None)]

    @property
    def portal_voucher_lines(self):
        return [l for l in self.lines
            if l.type == 'line' and getattr(l, 'voucher', None)]

    @property
    def portal_quantity(self):
        return int(sum(l.quantity or 0 for l in self.portal_product_lines))
