# This file is part of bol_air_crm.
"""The pipeline of future hosts: a lead is a person who may host a meeting,
followed by an ambassador from the first call to the meeting held."""
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.modules.company.model import employee_field
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, If, PYSONEncoder
from trytond.transaction import Transaction, without_check_access

from .exceptions import LeadError

STATES = [
    ('new', "New"),
    ('contacted', "Contacted"),
    ('booked', "Booked"),
    ('held', "Held"),
    ('lost', "Lost"),
    ]
OPEN_STATES = ['new', 'contacted', 'booked']
SOURCES = [
    ('guest', "Guest Wanting to Host"),
    ('portal', "Portal Request"),
    ('phone', "Phone Prospecting"),
    ('referral', "Referral"),
    ]
LOST_REASONS = [
    (None, ""),
    ('not_interested', "Not Interested"),
    ('not_available', "Not Available"),
    ('unreachable', "Unreachable"),
    ('opposed', "Opposed to Prospecting"),
    ('other', "Other"),
    ]


class Lead(Workflow, ModelSQL, ModelView):
    __name__ = 'bol_air.lead'
    __string__ = "Lead"

    _states = {
        'readonly': ~Eval('state').in_(OPEN_STATES),
        }

    company = fields.Many2One(
        'company.company', "Company", required=True,
        states={
            'readonly': Eval('state') != 'new',
            })
    party = fields.Many2One(
        'party.party', "Future Host", required=True, ondelete='CASCADE',
        states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="The person who may host a meeting.")
    ambassador = employee_field("Ambassador", states=['held', 'lost'])
    date = fields.Date(
        "Date", required=True, states=_states,
        help="When the lead was opened.")
    source = fields.Selection(
        SOURCES, "Source", required=True, sort=False, states=_states)
    source_string = source.translated('source')
    referrer = fields.Many2One(
        'party.party', "Referrer", ondelete='SET NULL',
        domain=[('id', '!=', Eval('party', -1))],
        states=_states,
        context={
            'company': Eval('company', -1),
            },
        depends={'company'},
        help="Who brought the lead: the host whose meeting the guest "
        "attended, or the customer who recommended her.")
    state = fields.Selection(
        STATES, "Stage", readonly=True, required=True, sort=False)
    state_string = state.translated('state')
    next_call_date = fields.Date(
        "Next Call", states=_states,
        help="When to call the person again: the lead shows in "
        "\"Leads to Call Back\" from this day.")
    proposed_date = fields.DateTime(
        "Proposed Meeting Date",
        states={
            'readonly': ~Eval('state').in_(['new', 'contacted']),
            },
        help="The date of the meeting booked in one click.")
    meeting = fields.Many2One(
        'bol_air.meeting', "Meeting", ondelete='SET NULL',
        domain=[
            If(Eval('state').in_(['new', 'contacted']),
                [('host', '=', Eval('party', -1)),
                    ('state', 'in', ['draft', 'planned'])],
                []),
            ],
        states={
            'readonly': ~Eval('state').in_(['new', 'contacted']),
            },
        help="The meeting booked with the future host.")
    lost_reason = fields.Selection(
        LOST_REASONS, "Lost Reason", sort=False,
        states={
            'readonly': ~Eval('state').in_(OPEN_STATES),
            'required': Eval('state') == 'lost',
            'invisible': Eval('state') == 'held',
            },
        help="Fill in before pressing \"Lose\".")
    lost_reason_string = lost_reason.translated('lost_reason')
    comment = fields.Text("Comment")
    phone = fields.Function(fields.Char("Phone"), 'get_phone')
    contacted_date = fields.Date("Contacted On", readonly=True)
    booked_date = fields.Date("Booked On", readonly=True)
    held_date = fields.Date("Held On", readonly=True)
    lost_date = fields.Date("Lost On", readonly=True)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Range())),
                Index(t, (t.meeting, Index.Range())),
                Index(t, (t.date, Index.Range())),
                Index(
                    t, (t.next_call_date, Index.Range()),
                    where=t.state.in_(OPEN_STATES)),
                })
        cls._order = [
            ('next_call_date', 'ASC NULLS LAST'),
            ('date', 'DESC'),
            ('id', 'DESC'),
            ]
        cls._transitions |= {
            ('new', 'contacted'),
            ('new', 'booked'),
            ('contacted', 'booked'),
            ('new', 'held'),
            ('contacted', 'held'),
            ('booked', 'held'),
            ('new', 'lost'),
            ('contacted', 'lost'),
            ('booked', 'lost'),
            ('lost', 'new'),
            }
        cls._buttons.update({
                'contact': {
                    'invisible': Eval('state') != 'new',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'book': {
                    'invisible': ~Eval('state').in_(['new', 'contacted']),
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'lose': {
                    'invisible': ~Eval('state').in_(OPEN_STATES),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'lost',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @staticmethod
    def default_state():
        return 'new'

    @classmethod
    def default_ambassador(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_source(cls):
        return 'phone'

    @fields.depends('party', 'referrer')
    def on_change_party(self):
        if self.party and not self.referrer:
            self.referrer = getattr(self.party, 'referrer', None)

    def get_rec_name(self, name):
        return self.party.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name',) + tuple(clause[1:])]

    def get_phone(self, name):
        return self.party.phone or self.party.mobile or None

    @classmethod
    def copy(cls, leads, default=None):
        default = default.copy() if default is not None else {}
        for name in ['meeting', 'contacted_date', 'booked_date',
                'held_date', 'lost_date', 'lost_reason']:
            default.setdefault(name, None)
        default.setdefault('date', None)
        return super().copy(leads, default=default)

    @classmethod
    def _today(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def _set_dates(cls, leads, *names):
        "Fill the dates the leads reached the stages names, once"
        today = cls._today()
        to_write = defaultdict(list)
        for lead in leads:
            missing = tuple(n for n in names if not getattr(lead, n))
            if missing:
                to_write[missing].append(lead)
        args = []
        for missing, records in to_write.items():
            args.extend((records, dict.fromkeys(missing, today)))
        if args:
            cls.write(*args)

    @classmethod
    @ModelView.button
    @Workflow.transition('contacted')
    def contact(cls, leads):
        cls._set_dates(leads, 'contacted_date')

    @classmethod
    @ModelView.button_action('bol_air_crm.act_lead_meeting')
    @Workflow.transition('booked')
    def book(cls, leads):
        """Plan a meeting at the future host's place with the lead's
        ambassador on the proposed date (or plan the linked one) and open
        it"""
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        for lead in leads:
            missing = [
                getattr(cls, f).string for f in ['ambassador', 'proposed_date']
                if not getattr(lead, f)]
            if missing and not (
                    lead.meeting and lead.meeting.state == 'planned'):
                raise LeadError(gettext(
                        'bol_air_crm.msg_lead_book_missing',
                        lead=lead.rec_name, fields=', '.join(missing)))
        to_create = [l for l in leads
            if not l.meeting or l.meeting.state not in {'draft', 'planned'}]
        meetings = Meeting.create([{
                    'company': l.company.id,
                    'host': l.party.id,
                    'ambassador': l.ambassador.id,
                    'date': l.proposed_date,
                    } for l in to_create])
        for lead, meeting in zip(to_create, meetings):
            lead.meeting = meeting
        cls.save(to_create)
        Meeting.plan([l.meeting for l in leads if l.meeting.state == 'draft'])
        cls._set_dates(leads, 'contacted_date', 'booked_date')
        ids = [l.meeting.id for l in leads]
        return {
            'res_id': ids,
            'pyson_domain': PYSONEncoder().encode([('id', 'in', ids)]),
            }

    @classmethod
    @ModelView.button
    @Workflow.transition('lost')
    def lose(cls, leads):
        for lead in leads:
            if not lead.lost_reason:
                raise LeadError(gettext(
                        'bol_air_crm.msg_lead_lose_reason',
                        lead=lead.rec_name))
        cls._set_dates(leads, 'lost_date')

    @classmethod
    @ModelView.button
    @Workflow.transition('new')
    def reopen(cls, leads):
        # The reason stays as a memory of the last loss (required while the
        # lead is lost, it is chosen again when the lead is lost again)
        cls.write(leads, {'lost_date': None})

    @classmethod
    @Workflow.transition('held')
    def hold(cls, leads):
        cls._set_dates(leads, 'contacted_date', 'booked_date', 'held_date')

    @classmethod
    def meetings_held(cls, meetings):
        """The leads of the meetings become held; the guests who want to
        host become leads of the meeting's ambassador, unless they already
        have an open one. In batch: the statements do not grow with the
        number of meetings or guests."""
        pool = Pool()
        Guest = pool.get('bol_air.meeting.guest')
        meeting_ids = [m.id for m in meetings]
        if not meeting_ids:
            return
        today = cls._today()
        with without_check_access():
            cls.hold(cls.search([
                        ('meeting', 'in', meeting_ids),
                        ('state', 'in', OPEN_STATES),
                        ]))
            guests = Guest.search([
                    ('meeting', 'in', meeting_ids),
                    ('wants_to_host', '=', True),
                    ], order=[('meeting', 'ASC'), ('id', 'ASC')])
            party_ids = {g.party.id for g in guests}
            opened = {l.party.id for l in cls.search([
                        ('party', 'in', list(party_ids)),
                        ('state', 'in', OPEN_STATES),
                        ])}
            to_create = []
            for guest in guests:
                party_id = guest.party.id
                meeting = guest.meeting
                if party_id in opened or party_id == meeting.host.id:
                    continue
                opened.add(party_id)
                to_create.append({
                        'company': meeting.company.id,
                        'party': party_id,
                        'source': 'guest',
                        'referrer': meeting.host.id,
                        'ambassador': (
                            meeting.ambassador.id
                            if meeting.ambassador else None),
                        'date': today,
                        'next_call_date': today,
                        })
            if to_create:
                cls.create(to_create)


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    leads = fields.One2Many(
        'bol_air.lead', 'party', "Host Leads", readonly=True,
        help="The recruitment of the person as a host.")


class Meeting(metaclass=PoolMeta):
    __name__ = 'bol_air.meeting'

    leads = fields.One2Many(
        'bol_air.lead', 'meeting', "Leads", readonly=True,
        help="The leads that booked this meeting.")

    @classmethod
    def hold(cls, meetings):
        # The workflow of the meeting runs first (state check, transition)
        planned = [m for m in meetings if m.state == 'planned']
        super().hold(meetings)
        Pool().get('bol_air.lead').meetings_held(planned)

    @classmethod
    def copy(cls, meetings, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('leads', None)
        return super().copy(meetings, default=default)


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('bol_air.lead', 'party'),
            ('bol_air.lead', 'referrer'),
            ('bol_air.call.list.line', 'party'),
            ]


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Lead = pool.get('bol_air.lead')
        Line = pool.get('bol_air.call.list.line')
        return super().to_erase(party_id) + [
            (Lead, [('party', '=', party_id)], True,
                ['comment'], [None]),
            (Line, [('party', '=', party_id)], True,
                ['notes'], [None]),
            ]
