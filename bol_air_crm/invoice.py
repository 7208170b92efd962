# This file is part of bol_air_crm.
from sql import Null

from trytond.model import Index, fields
from trytond.pool import PoolMeta
from trytond.pyson import Eval


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting", readonly=True, ondelete='RESTRICT',
        states={
            'invisible': Eval('type') != 'out',
            },
        help="The home meeting whose order this invoice (or credit note) "
        "comes from.")
    meeting_host = fields.Function(fields.Many2One(
            'party.party', "Host",
            context={
                'company': Eval('company', -1),
                },
            states={
                'invisible': ~Eval('meeting'),
                }, depends={'company'}),
        'get_meeting_field', searcher='search_meeting_field')
    meeting_ambassador = fields.Function(fields.Many2One(
            'company.employee', "Ambassador",
            states={
                'invisible': ~Eval('meeting'),
                }),
        'get_meeting_field', searcher='search_meeting_field')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.meeting, Index.Range()), where=t.meeting != None))  # noqa: E711,E501
        # Revenue per customer, the access export and erasure look the
        # invoices up by party
        cls._sql_indexes.add(Index(t, (t.party, Index.Range())))
        # Party._invoiced_where looks up the credit note of a refunded invoice
        # by its move
        cls._sql_indexes.add(
            Index(t, (t.move, Index.Equality()), where=t.move != Null))

    @classmethod
    def get_meeting_field(cls, invoices, names):
        result = {n: {} for n in names}
        for invoice in invoices:
            meeting = invoice.meeting
            for name in names:
                value = getattr(meeting, name[len('meeting_'):], None)
                result[name][invoice.id] = value.id if value else None
        return result

    @classmethod
    def search_meeting_field(cls, name, clause):
        nested = clause[0][len(name):]
        return [('meeting.' + name[len('meeting_'):] + nested, *clause[1:])]

    def _credit(self, **values):
        credit = super()._credit(**values)
        credit.meeting = self.meeting
        return credit

    @classmethod
    def copy(cls, invoices, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('meeting', None)
        return super().copy(invoices, default=default)
