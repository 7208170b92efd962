# This file is part of bol_air_gdpr.
"""The consent ledger: every grant and withdrawal of a person for a purpose
with its proof, never rewritten; the current status of each person for
each purpose is the latest entry, computed in SQL."""
import datetime as dt

from sql import Literal
from sql.operators import Exists

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.tools import grouped_slice
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import ConsentAccessError, ConsentError

STATUSES = [
    ('given', "Given"),
    ('withdrawn', "Withdrawn"),
    ]
CHANNELS = [
    ('paper', "Paper Form at a Meeting"),
    ('phone', "Phone"),
    ('portal', "Portal"),
    ('email', "E-mail (Double Opt-in)"),
    ('import', "Import"),
    ('retention', "Retention (Lapsed)"),
    ('other', "Other"),
    ]
ONLINE_CHANNELS = {'portal', 'email'}
# Recorded by the system with their proof, never chosen by hand
AUTOMATIC_CHANNELS = {'retention', 'email', 'portal'}


def latest(Consent, consent, where=None):
    """The condition keeping, of the rows of consent (a table of the model
    Consent), the latest entry of each person for each purpose"""
    later = Consent.__table__()
    condition = ~Exists(later.select(
            Literal(1),
            where=(later.party == consent.party)
            & (later.purpose == consent.purpose)
            & ((later.date > consent.date)
                | ((later.date == consent.date) & (later.id > consent.id)))))
    return condition if where is None else condition & where


class Consent(ModelSQL, ModelView):
    __name__ = 'bol_air.gdpr.consent'
    __string__ = "Consent"

    party = fields.Many2One(
        'party.party', "Person", required=True, ondelete='RESTRICT')
    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", required=True,
        ondelete='RESTRICT')
    status = fields.Selection(STATUSES, "Status", required=True)
    status_string = status.translated('status')
    date = fields.DateTime(
        "Date", required=True,
        help="When the person gave or withdrew consent (kept in UTC, "
        "shown in your time zone).")
    channel = fields.Selection(CHANNELS, "Channel", required=True)
    text_version = fields.Many2One(
        'bol_air.gdpr.purpose.text', "Wording", ondelete='RESTRICT',
        domain=[('purpose', '=', Eval('purpose', -1))],
        states={
            'required': Eval('status') == 'given',
            },
        help="The version of the wording the person agreed to.")
    collected_by = fields.Many2One(
        'res.user', "Collected by", readonly=True, ondelete='RESTRICT')
    web_user = fields.Many2One(
        'web.user', "Portal Account", readonly=True, ondelete='RESTRICT',
        help="The portal account the person used, when given online.")
    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting", ondelete='RESTRICT',
        help="The meeting where the form was signed.")
    ip_address = fields.Char("IP Address")
    user_agent = fields.Char("User Agent")
    scan = fields.Binary(
        "Signed Form", filename='scan_filename', file_id='scan_id',
        store_prefix='gdpr')
    scan_filename = fields.Char("Scan File Name")
    scan_id = fields.Char("Scan ID", readonly=True)
    comment = fields.Text("Comment")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(
                t, (t.party, Index.Range()), (t.purpose, Index.Range()),
                (t.date, Index.Range())))
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_date(cls):
        # DateTime fields keep whole seconds: the id orders entries of one
        # second
        return dt.datetime.utcnow().replace(microsecond=0)

    @classmethod
    def default_channel(cls):
        return 'paper'

    @classmethod
    def default_status(cls):
        return 'given'

    @fields.depends('purpose', 'text_version')
    def on_change_purpose(self):
        if self.purpose and (not self.text_version
                or self.text_version.purpose != self.purpose):
            self.text_version = self.purpose.current_text
        elif not self.purpose:
            self.text_version = None

    def get_rec_name(self, name):
        return ' - '.join([
                self.party.rec_name, self.purpose.rec_name,
                self.status_string])

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            context = Transaction().context
            # Who collected it is who records it, never typed in
            values['collected_by'] = Transaction().user or None
            # The portal passes the logged-in account in the context
            if context.get('web_user'):
                values['web_user'] = context['web_user']
            if values.get('channel') in ONLINE_CHANNELS:
                # The proof of a request made online: where it came from
                request = context.get('_request') or {}
                if not values.get('ip_address'):
                    values['ip_address'] = request.get('remote_addr')
                if not values.get('user_agent'):
                    values['user_agent'] = (
                        context.get('user_agent') or '')[:512] or None
        return values

    @classmethod
    def on_modification(cls, mode, consents, field_names=None):
        pool = Pool()
        Email = pool.get('marketing.email')
        super().on_modification(mode, consents, field_names=field_names)
        if mode == 'create':
            Email.sync_consents(consents)

    @classmethod
    def validate_fields(cls, consents, field_names):
        super().validate_fields(consents, field_names)
        for consent in consents:
            if (consent.text_version
                    and consent.text_version.purpose != consent.purpose):
                raise ConsentError(gettext(
                        'bol_air_gdpr.msg_consent_text_purpose',
                        text=consent.text_version.rec_name,
                        purpose=consent.purpose.rec_name))

    @classmethod
    def check_modification(cls, mode, consents, values=None, external=False):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        super().check_modification(
            mode, consents, values=values, external=external)
        if mode in {'write', 'delete'}:
            user = Transaction().user
            admin = ModelData.get_id('res', 'group_admin')
            if user and admin not in [g.id for g in User(user).groups]:
                raise ConsentAccessError(gettext(
                        'bol_air_gdpr.msg_consent_append_only'))

    @classmethod
    def copy(cls, consents, default=None):
        if not consents:
            return []
        raise ConsentAccessError(gettext(
                'bol_air_gdpr.msg_consent_append_only'))

    @classmethod
    def record(cls, party, purpose, status, channel, **values):
        """Record a grant or a withdrawal with the purpose's current
        wording; return the entry"""
        if status == 'given' and 'text_version' not in values:
            if not purpose.current_text:
                raise ConsentError(gettext(
                        'bol_air_gdpr.msg_consent_no_text',
                        purpose=purpose.rec_name))
            values['text_version'] = purpose.current_text.id
        consent, = cls.create([dict(values,
                    party=party.id, purpose=purpose.id, status=status,
                    channel=channel)])
        return consent

    @classmethod
    def current_query(cls, purposes=None, status='given'):
        """SQL query of the persons (column party) whose latest entry for
        one of purposes (ids; all when None) has status"""
        consent = cls.__table__()
        where = consent.status == status
        if purposes is not None:
            where &= fields.SQL_OPERATORS['in'](consent.purpose, purposes)
        return consent.select(consent.party, where=latest(cls, consent, where))

    @classmethod
    def current_status(cls, party_ids, purpose_ids):
        """{(party id, purpose id): status} of the latest entries, for the
        pairs that have one"""
        consent = cls.__table__()
        cursor = Transaction().connection.cursor()
        result = {}
        for sub_ids in grouped_slice(
                party_ids, backend.MAX_QUERY_PARAMS - len(purpose_ids)):
            sub_ids = list(sub_ids)
            cursor.execute(*consent.select(
                    consent.party, consent.purpose, consent.status,
                    where=latest(cls, consent,
                        fields.SQL_OPERATORS['in'](consent.party, sub_ids)
                        & fields.SQL_OPERATORS['in'](
                            consent.purpose, purpose_ids))))
            for party_id, purpose_id, status in cursor:
                result[party_id, purpose_id] = status
        return result


class ConsentStatus(ModelSQL, ModelView):
    "The current status of each person for each purpose (latest entry)"
    __name__ = 'bol_air.gdpr.consent.status'
    __string__ = "Consent Status"

    party = fields.Many2One('party.party', "Person", readonly=True)
    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", readonly=True)
    status = fields.Selection(STATUSES, "Status", readonly=True)
    date = fields.DateTime("Since", readonly=True)
    channel = fields.Selection(CHANNELS, "Channel", readonly=True)
    consent = fields.Many2One(
        'bol_air.gdpr.consent', "Entry", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('party', 'ASC'), ('purpose', 'ASC'), ('id', 'ASC')]
        cls._buttons.update({
                'give': {
                    'invisible': Eval('status') == 'given',
                    'depends': ['status'],
                    },
                'withdraw': {
                    'invisible': Eval('status') != 'given',
                    'depends': ['status'],
                    },
                })

    @classmethod
    def table_query(cls):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        consent = Consent.__table__()
        return consent.select(
            consent.id.as_('id'),
            consent.party.as_('party'),
            consent.purpose.as_('purpose'),
            consent.status.as_('status'),
            consent.date.as_('date'),
            consent.channel.as_('channel'),
            consent.id.as_('consent'),
            where=latest(Consent, consent))

    @classmethod
    def _change(cls, statuses, status):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        # How the person asked is not known here: the wizard records it
        for record in statuses:
            Consent.record(record.party, record.purpose, status, 'other')

    @classmethod
    @ModelView.button
    def give(cls, statuses):
        "Give again, with the current wording"
        cls._change(statuses, 'given')

    @classmethod
    @ModelView.button
    def withdraw(cls, statuses):
        "Withdraw in one click"
        cls._change(statuses, 'withdrawn')


class RecordStart(ModelView):
    __name__ = 'bol_air.gdpr.consent.record.start'
    __string__ = "Record Consent"

    party = fields.Many2One('party.party', "Person", required=True)
    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", required=True,
        domain=[('legal_basis', '=', 'consent')])
    status = fields.Selection(STATUSES, "Status", required=True)
    channel = fields.Selection(
        [c for c in CHANNELS if c[0] not in AUTOMATIC_CHANNELS], "Channel",
        required=True)
    text_version = fields.Many2One(
        'bol_air.gdpr.purpose.text', "Wording",
        domain=[('purpose', '=', Eval('purpose', -1))],
        states={
            'required': Eval('status') == 'given',
            'invisible': Eval('status') != 'given',
            })
    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting",
        domain=[If(Eval('party'),
                ['OR',
                    ('host', '=', Eval('party', -1)),
                    ('guests.party', '=', Eval('party', -1)),
                    ],
                [])])
    scan = fields.Binary("Signed Form", filename='scan_filename')
    scan_filename = fields.Char("Scan File Name")
    comment = fields.Text("Comment")

    @fields.depends('purpose', 'text_version')
    def on_change_purpose(self):
        if self.purpose:
            self.text_version = self.purpose.current_text
        else:
            self.text_version = None


class Record(Wizard):
    "Record a consent given or withdrawn by a person"
    __name__ = 'bol_air.gdpr.consent.record'

    start = StateView(
        'bol_air.gdpr.consent.record.start',
        'bol_air_gdpr.consent_record_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Record", 'record_', 'tryton-ok', default=True),
            ])
    # "record" is the wizard's active record: the state has another name
    record_ = StateTransition()

    def default_start(self, fields):
        values = {'status': 'given', 'channel': 'paper'}
        if self.model and self.model.__name__ == 'party.party' and self.record:
            values['party'] = self.record.id
        return values

    def transition_record_(self):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        start = self.start
        values = {
            'meeting': start.meeting.id if start.meeting else None,
            'scan': start.scan,
            'scan_filename': start.scan_filename,
            'comment': start.comment,
            }
        if start.status == 'given':
            values['text_version'] = (
                start.text_version.id if start.text_version else None)
        Consent.record(
            start.party, start.purpose, start.status, start.channel,
            **values)
        return 'end'
