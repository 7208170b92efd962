# This file is part of bol_air_gdpr.
"""Data-subject requests (RGPD articles 15 to 21): received, identity
checked, answered within one month, extended by two more months at most
and only once the person was told."""
from dateutil.relativedelta import relativedelta

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction

from .exceptions import RequestError

KINDS = [
    ('access', "Access"),
    ('rectification', "Rectification"),
    ('erasure', "Erasure"),
    ('opposition', "Opposition"),
    ('portability', "Portability"),
    ]
STATES = [
    ('received', "Received"),
    ('in_progress', "In Progress"),
    ('done', "Done"),
    ('refused', "Refused"),
    ]
CLOSED = ['done', 'refused']


class Request(Workflow, ModelSQL, ModelView):
    __name__ = 'bol_air.gdpr.request'
    __string__ = "Data-Subject Request"

    _states = {
        'readonly': Eval('state').in_(CLOSED),
        }

    party = fields.Many2One(
        'party.party', "Person", required=True, ondelete='RESTRICT',
        states=_states)
    kind = fields.Selection(KINDS, "Request", required=True, states=_states)
    kind_string = kind.translated('kind')
    received_date = fields.Date(
        "Received", required=True, states=_states)
    channel = fields.Char(
        "Received by", states=_states,
        help="Letter, e-mail, portal, phone…")
    details = fields.Text("Details", states=_states)
    identity_checked = fields.Boolean(
        "Identity Checked", states=_states,
        help="The person's identity was checked before answering.")
    identity_check = fields.Char(
        "Identity Check", states={
            'readonly': Eval('state').in_(CLOSED),
            'required': Bool(Eval('identity_checked')),
            },
        help="How the identity was checked (without keeping a copy of an "
        "identity document).")
    extension_months = fields.Integer(
        "Extension (Months)", required=True,
        domain=[
            ('extension_months', '>=', 0),
            ('extension_months', '<=', 2),
            ],
        states=_states,
        help="At most 2 more months, for complex or numerous requests, "
        "once the person was told why.")
    extension_notified = fields.Date(
        "Extension Notified", states={
            'readonly': Eval('state').in_(CLOSED),
            'required': Eval('extension_months', 0) > 0,
            'invisible': Eval('extension_months', 0) == 0,
            },
        help="When the person was told of the extension and its reasons.")
    due_date = fields.Function(
        fields.Date("Due Date"), 'get_due_date', searcher='search_due_date')
    overdue = fields.Function(
        fields.Boolean("Overdue"), 'get_overdue')
    dpo = fields.Many2One(
        'res.user', "DPO", states=_states,
        help="Who handles the request.")
    outcome = fields.Text(
        "Outcome", states={
            'readonly': Eval('state').in_(CLOSED),
            'required': Eval('state').in_(CLOSED),
            })
    closed_date = fields.Date("Closed", readonly=True)
    state = fields.Selection(STATES, "State", readonly=True, required=True)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.state, Index.Equality()),
                (t.received_date, Index.Range())))
        cls._order = [('received_date', 'DESC'), ('id', 'DESC')]
        cls._transitions |= {
            ('received', 'in_progress'),
            ('received', 'refused'),
            ('in_progress', 'done'),
            ('in_progress', 'refused'),
            }
        cls._buttons.update({
                'start': {
                    'invisible': Eval('state') != 'received',
                    'depends': ['state'],
                    },
                'done': {
                    'invisible': Eval('state') != 'in_progress',
                    'depends': ['state'],
                    },
                'refuse': {
                    'invisible': Eval('state').in_(CLOSED),
                    'depends': ['state'],
                    },
                'export_personal_data': {
                    'invisible': ((Eval('state') != 'in_progress')
                        | ~Eval('kind').in_(['access', 'portability'])),
                    'depends': ['state', 'kind'],
                    },
                'erase': {
                    'invisible': ((Eval('state') != 'in_progress')
                        | (Eval('kind') != 'erasure')),
                    'depends': ['state', 'kind'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'received'

    @classmethod
    def default_received_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_extension_months(cls):
        return 0

    @classmethod
    def default_identity_checked(cls):
        return False

    @classmethod
    def default_dpo(cls):
        return Transaction().user or None

    def get_rec_name(self, name):
        return f"{self.kind_string} - {self.party.rec_name}"

    @classmethod
    def due_date_of(cls, received, extension=0):
        return received + relativedelta(months=1 + (extension or 0))

    def get_due_date(self, name):
        if self.received_date:
            return self.due_date_of(
                self.received_date, self.extension_months)

    @classmethod
    def search_due_date(cls, name, clause):
        # One month, plus the extension: as many domains as extensions
        _, operator, value = clause
        domain = ['OR']
        for extension in range(3):
            if value is None:
                limit = None
            else:
                limit = value - relativedelta(months=1 + extension)
            domain.append([
                    ('extension_months', '=', extension),
                    ('received_date', operator, limit),
                    ])
        return domain

    def get_overdue(self, name):
        today = Pool().get('ir.date').today()
        return bool(self.state not in CLOSED
            and self.due_date and self.due_date < today)

    @classmethod
    @ModelView.button
    @Workflow.transition('in_progress')
    def start(cls, requests):
        for request in requests:
            if not request.identity_checked:
                raise RequestError(gettext(
                        'bol_air_gdpr.msg_request_identity',
                        request=request.rec_name))

    @classmethod
    @ModelView.button
    @Workflow.transition('done')
    def done(cls, requests):
        cls._close(requests)

    @classmethod
    @ModelView.button
    @Workflow.transition('refused')
    def refuse(cls, requests):
        cls._close(requests)

    @classmethod
    @ModelView.button
    def export_personal_data(cls, requests):
        """Give the DPO the JSON and XLSX files of everything held about
        the person, to send: no copy is kept in the database"""
        pool = Pool()
        Action = pool.get('ir.action')
        ModelData = pool.get('ir.model.data')
        return Action.get_action_id(ModelData.get_id(
                'bol_air_gdpr', 'wizard_access_export_request'))

    @classmethod
    @ModelView.button
    def erase(cls, requests):
        """Erase the persons (refused with the reason while an order or
        an invoice is open) and close the requests"""
        pool = Pool()
        Party = pool.get('party.party')
        today = Pool().get('ir.date').today()
        Party.gdpr_erase([r.party for r in requests])
        for request in requests:
            request.outcome = '\n'.join(filter(None, [
                        request.outcome,
                        gettext('bol_air_gdpr.msg_request_erased',
                            date=today.strftime('%d/%m/%Y'))]))
        cls.save(requests)
        cls.done(requests)

    @classmethod
    def _close(cls, requests):
        today = Pool().get('ir.date').today()
        for request in requests:
            if not request.outcome:
                raise RequestError(gettext(
                        'bol_air_gdpr.msg_request_outcome',
                        request=request.rec_name))
        cls.write(list(requests), {'closed_date': today})
