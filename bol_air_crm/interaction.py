# This file is part of bol_air_crm.
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

CHANNELS = [
    ('phone', "Phone"),
    ('email', "E-mail"),
    ('visit', "Visit"),
    ('meeting', "Meeting"),
    ('portal', "Portal"),
    ('complaint', "Complaint"),
    ('letter', "Letter"),
    ]
INITIATIVES = [
    ('us', "Us"),
    ('customer', "The Customer"),
    ]


class Interaction(ModelSQL, ModelView):
    __name__ = 'bol_air.interaction'
    __string__ = "Interaction"

    company = fields.Many2One('company.company', "Company", required=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        context={
            'company': Eval('company', -1),
            },
        depends={'company'})
    date = fields.Date("Date", required=True)
    channel = fields.Selection(CHANNELS, "Channel", required=True)
    initiative = fields.Selection(
        INITIATIVES, "Initiative", required=True, sort=False,
        help="Who started the contact: a contact from the customer counts "
        "for the data retention.")
    employee = fields.Many2One(
        'company.employee', "Employee",
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        help="Who was in touch with the customer.")
    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting", ondelete='SET NULL',
        domain=[
            If(Eval('party'),
                ['OR',
                    ('host', '=', Eval('party', -1)),
                    ('guests.party', '=', Eval('party', -1)),
                    ],
                []),
            ])
    summary = fields.Text("Summary", required=True)
    follow_up_date = fields.Date(
        "Follow-up Date",
        domain=[
            If(Eval('follow_up_date'),
                ('follow_up_date', '>=', Eval('date', None)),
                ()),
            ],
        help="When to get back to the customer.")
    follow_up_done = fields.Boolean(
        "Follow-up Done",
        states={
            'invisible': ~Eval('follow_up_date'),
            })
    ambassador = fields.Function(
        fields.Many2One('company.employee', "Ambassador"),
        'get_ambassador', searcher='search_ambassador')
    follow_up_due = fields.Function(
        fields.Boolean("Follow-up Due"), 'get_follow_up_due')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range())),
                Index(
                    t, (t.follow_up_date, Index.Range()),
                    where=(t.follow_up_done == False)),  # noqa: E712
                })
        cls._order = [
            ('date', 'DESC'),
            ('id', 'DESC'),
            ]

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()

    @classmethod
    def default_channel(cls):
        return 'phone'

    @classmethod
    def default_initiative(cls):
        return 'us'

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_follow_up_done(cls):
        return False

    def get_rec_name(self, name):
        return '%s - %s' % (self.party.rec_name, self.date)

    def get_ambassador(self, name):
        return self.party.ambassador

    @classmethod
    def search_ambassador(cls, name, clause):
        return [('party.' + clause[0],) + tuple(clause[1:])]

    def get_follow_up_due(self, name):
        pool = Pool()
        Date = pool.get('ir.date')
        return bool(self.follow_up_date and not self.follow_up_done
            and self.follow_up_date <= Date.today())
