# This file is part of bol_air_crm.
from trytond.i18n import gettext
from trytond.model import Index, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from .exceptions import SaleMeetingError


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        states={
            'readonly': Eval('state') != 'draft',
            },
        help="The home meeting where the order was taken.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.meeting, Index.Range()), where=t.meeting != None))  # noqa: E711,E501

    @classmethod
    def check_modification(cls, mode, sales, values=None, external=False):
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        super().check_modification(
            mode, sales, values=values, external=external)
        if mode == 'create':
            for sale in sales:
                if sale.meeting:
                    sale.check_meeting_open(sale.meeting)
        elif mode == 'write' and values and values.get('meeting'):
            meeting = Meeting(values['meeting'])
            for sale in sales:
                sale.check_meeting_open(meeting)

    def check_meeting_open(self, meeting):
        "No order may be added to a cancelled or closed meeting"
        if meeting.state in {'cancelled', 'closed'}:
            raise SaleMeetingError(gettext(
                    'bol_air_crm.msg_sale_meeting_state',
                    sale=self.rec_name,
                    meeting=meeting.rec_name,
                    state=meeting.state_string))

    @classmethod
    def copy(cls, sales, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('meeting', None)
        return super().copy(sales, default=default)
