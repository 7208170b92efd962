# This file is part of bol_air_portal.
"""The link of a meeting that guests follow to order online for it (the
"virtual guest"): an unguessable token per meeting."""
import secrets
import urllib.parse

from sql import Null

import trytond.config as config
from trytond.model import ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction

# The meetings whose link takes online orders
OPEN_STATES = {'planned', 'held'}


def new_token():
    return secrets.token_urlsafe(24)


class Meeting(metaclass=PoolMeta):
    __name__ = 'bol_air.meeting'

    portal_token = fields.Char("Share Token", readonly=True)
    portal_url = fields.Function(
        fields.Char(
            "Online Order Link",
            help="Send this link to the guests who cannot come: their "
            "orders on the portal count for the host."),
        'get_portal_url')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('portal_token_unique', Unique(t, t.portal_token),
                'bol_air_portal.msg_meeting_portal_token_unique'),
            ]

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        # The meetings that existed before the portal get their link
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(
                table.id, where=table.portal_token == Null))
        for id_, in cursor.fetchall():
            cursor.execute(*table.update(
                    [table.portal_token], [new_token()],
                    where=table.id == id_))

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('portal_token'):
            values['portal_token'] = new_token()
        return values

    @classmethod
    def copy(cls, meetings, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('portal_token', None)
        return super().copy(meetings, default=default)

    def get_portal_url(self, name):
        if not self.portal_token:
            return None
        base = config.get('bol_air_portal', 'url', default='') or ''
        return '%s/%s/portal/meeting/%s' % (
            base.rstrip('/'),
            urllib.parse.quote(Transaction().database.name),
            self.portal_token)

    @classmethod
    def detach_carts(cls, meetings):
        """The carts still being filled online leave the meeting: closing
        confirms the meeting's orders and cancelling cancels them, never a
        customer's unfinished cart"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        carts = Sale.search([
                ('meeting', 'in', [m.id for m in meetings]),
                ('portal', '=', True),
                ('state', '=', 'draft'),
                ])
        if carts:
            Sale.write(carts, {'meeting': None})

    @classmethod
    @ModelView.button
    def close(cls, meetings):
        cls.detach_carts(meetings)
        super().close(meetings)

    @classmethod
    @ModelView.button
    def cancel(cls, meetings):
        cls.detach_carts(meetings)
        super().cancel(meetings)
