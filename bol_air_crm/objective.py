# This file is part of bol_air_crm.
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.currency.fields import Monetary
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction


def first_day(date):
    "The first day of the month of date"
    return date.replace(day=1) if date else date


class Objective(ModelSQL, ModelView):
    __name__ = 'bol_air.objective'
    __string__ = "Objective"

    company = fields.Many2One(
        'company.company', "Company", required=True)
    ambassador = fields.Many2One(
        'company.employee', "Ambassador", required=True,
        ondelete='CASCADE',
        domain=[
            ('company', '=', Eval('company', -1)),
            ])
    month = fields.Date(
        "Month", required=True,
        help="Any day of the month: the first day is kept.")
    currency = fields.Function(
        fields.Many2One('currency.currency', "Currency"),
        'on_change_with_currency')
    revenue = Monetary(
        "Revenue", currency='currency', digits='currency',
        domain=['OR',
            ('revenue', '=', None),
            ('revenue', '>=', 0),
            ],
        help="Untaxed revenue invoiced on the orders of the meetings "
        "held in the month.")
    meetings = fields.Integer(
        "Meetings Held",
        domain=['OR',
            ('meetings', '=', None),
            ('meetings', '>=', 0),
            ])
    new_hosts = fields.Integer(
        "New Hosts",
        domain=['OR',
            ('new_hosts', '=', None),
            ('new_hosts', '>=', 0),
            ],
        help="Customers hosting their first meeting in the month.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('ambassador_month_unique',
                Unique(t, t.company, t.ambassador, t.month),
                'bol_air_crm.msg_objective_ambassador_month_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.month, Index.Range())))
        cls._order = [
            ('month', 'DESC'),
            ('ambassador', 'ASC'),
            ('id', 'DESC'),
            ]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_month(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return first_day(Date.today())

    @fields.depends('company')
    def on_change_with_currency(self, name=None):
        return self.company.currency if self.company else None

    @fields.depends('month')
    def on_change_month(self):
        self.month = first_day(self.month)

    def get_rec_name(self, name):
        return '%s - %s' % (
            self.ambassador.rec_name, self.month.strftime('%m/%Y'))

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('ambassador.rec_name', *clause[1:])]

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('month'):
            values['month'] = first_day(values['month'])
        return values
