# This file is part of bol_air_crm.
"""Phoning lists of the ambassadors, and who may be called at all: a person
on Bloctel (the French anti-cold-calling list) only when already a
customer (a contractual relation), a person who opposed phone prospecting
never."""
from sql import Union

from trytond.i18n import gettext
from trytond.model import (
    Index, ModelSQL, ModelView, fields, sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import CallListValidationError
from .lead import OPEN_STATES
from .sale import CONFIRMED_SALE_STATES

OUTCOMES = [
    (None, ""),
    ('reached', "Reached"),
    ('no_answer', "No Answer"),
    ('call_back', "Call Back"),
    ('booked', "Meeting Booked"),
    ('not_interested', "Not Interested"),
    ('opposed', "Opposed to Prospecting"),
    ('wrong_number', "Wrong Number"),
    ]


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    bloctel = fields.Boolean(
        "On Bloctel", loading='lazy',
        help="The person is registered on Bloctel, the list of people who "
        "refuse cold calls: she may be called only if she is already a "
        "customer.")

    @classmethod
    def default_bloctel(cls):
        return False

    @classmethod
    def contract_query(cls):
        """SQL query of the parties (column party) with an existing
        contractual relation: a confirmed order or a posted invoice"""
        pool = Pool()
        Sale = pool.get('sale.sale')
        Invoice = pool.get('account.invoice')
        sale = Sale.__table__()
        invoice = Invoice.__table__()
        return Union(
            sale.select(
                sale.party.as_('party'),
                where=sale.state.in_(CONFIRMED_SALE_STATES)),
            invoice.select(
                invoice.party.as_('party'),
                where=(invoice.type == 'out')
                & invoice.state.in_(['posted', 'paid'])))

    @classmethod
    def phone_opposed_query(cls):
        """SQL query of the parties (column party) who told an ambassador
        they oppose phone prospecting"""
        pool = Pool()
        Lead = pool.get('bol_air.lead')
        Line = pool.get('bol_air.call.list.line')
        lead = Lead.__table__()
        line = Line.__table__()
        return Union(
            lead.select(
                lead.party.as_('party'),
                where=(lead.state == 'lost')
                & (lead.lost_reason == 'opposed')),
            line.select(
                line.party.as_('party'),
                where=line.outcome == 'opposed'))

    @classmethod
    def phone_prospecting_domain(cls):
        """The domain of the parties who may be put in a phoning list: not
        on Bloctel unless already customers, and who never opposed.
        Modules extend it (the GDPR module adds the oppositions recorded in
        the consent ledger)."""
        return [
            ['OR',
                ('bloctel', '=', False),
                ('id', 'in', cls.contract_query()),
                ],
            ('id', 'not in', cls.phone_opposed_query()),
            ]

    @classmethod
    def phone_callable(cls, parties):
        "The set of the ids of parties who may be phoned"
        ids = list({p.id for p in parties})
        if not ids:
            return set()
        with without_check_access():
            return {p.id for p in cls.search(
                    [('id', 'in', ids)] + cls.phone_prospecting_domain())}


class CallList(ModelSQL, ModelView):
    __name__ = 'bol_air.call.list'
    __string__ = "Call List"

    company = fields.Many2One('company.company', "Company", required=True)
    name = fields.Char("Name", required=True)
    ambassador = fields.Many2One(
        'company.employee', "Ambassador",
        domain=[
            ('company', '=', Eval('company', -1)),
            ],
        help="Whose leads fill the list.")
    date = fields.Date("Date", required=True)
    lines = fields.One2Many(
        'bol_air.call.list.line', 'call_list', "Calls")
    line_count = fields.Function(
        fields.Integer("Calls"), 'get_line_count')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('date', 'DESC'),
            ('id', 'DESC'),
            ]
        cls._buttons.update({
                'fill': {
                    'icon': 'tryton-refresh',
                    },
                })

    @staticmethod
    def default_company():
        return Transaction().context.get('company')

    @classmethod
    def default_ambassador(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def get_line_count(cls, lists, name):
        return {l.id: len(l.lines) for l in lists}

    @classmethod
    def copy(cls, lists, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('date', None)
        default.setdefault('lines', None)
        return super().copy(lists, default=default)

    @classmethod
    @ModelView.button_action('bol_air_crm.wizard_call_list_fill')
    def fill(cls, lists):
        pass

    @classmethod
    def fill_from_leads(cls, lists):
        """Add to each list the open leads of its ambassador to call back by
        its date who are not in it yet, leaving out who may not be phoned.
        Return the numbers of calls added and of leads left out."""
        pool = Pool()
        Lead = pool.get('bol_air.lead')
        Line = pool.get('bol_air.call.list.line')
        Party = pool.get('party.party')
        added = left_out = 0
        to_create = []
        for call_list in lists:
            domain = [
                ('state', 'in', OPEN_STATES),
                ('next_call_date', '<=', call_list.date),
                ('company', '=', call_list.company.id),
                ]
            if call_list.ambassador:
                domain.append(('ambassador', '=', call_list.ambassador.id))
            leads = Lead.search(domain)
            present = {l.party for l in call_list.lines}
            leads = [l for l in leads if l.party not in present]
            callable_ = Party.phone_callable([l.party for l in leads])
            for lead in leads:
                if lead.party in present:
                    continue
                present.add(lead.party)
                if lead.party.id in callable_:
                    to_create.append({
                            'call_list': call_list.id,
                            'party': lead.party.id,
                            'lead': lead.id,
                            })
                    added += 1
                else:
                    left_out += 1
        Line.create(to_create)
        return added, left_out


class CallListLine(sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'bol_air.call.list.line'
    __string__ = "Call List Line"

    call_list = fields.Many2One(
        'bol_air.call.list', "Call List", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Person", required=True, ondelete='CASCADE')
    lead = fields.Many2One(
        'bol_air.lead', "Lead", ondelete='SET NULL',
        domain=[
            ('party', '=', Eval('party', -1)),
            ])
    phone = fields.Function(fields.Char("Phone"), 'get_phone')
    outcome = fields.Selection(OUTCOMES, "Outcome", sort=False)
    notes = fields.Char("Notes")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.call_list, Index.Range())),
                Index(t, (t.party, Index.Range())),
                Index(
                    t, (t.outcome, Index.Equality(cardinality='low')),
                    where=t.outcome == 'opposed'),
                })

    @fields.depends('lead', 'party')
    def on_change_lead(self):
        if self.lead:
            self.party = self.lead.party

    def get_rec_name(self, name):
        return self.party.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name',) + tuple(clause[1:])]

    def get_phone(self, name):
        return self.party.phone or self.party.mobile or None

    @classmethod
    def validate_fields(cls, lines, field_names):
        super().validate_fields(lines, field_names)
        if 'party' in field_names:
            cls.check_callable(lines)

    @classmethod
    def check_callable(cls, lines):
        "Refuse a person who may not be phoned, naming her and why"
        pool = Pool()
        Party = pool.get('party.party')
        parties = {l.party for l in lines}
        callable_ = Party.phone_callable(parties)
        refused = [p for p in parties if p.id not in callable_]
        if not refused:
            return
        party = min(refused, key=lambda p: p.id)
        with without_check_access():
            customer = bool(Party.search([
                        ('id', '=', party.id),
                        ('id', 'in', Party.contract_query()),
                        ]))
        if party.bloctel and not customer:
            message = 'bol_air_crm.msg_call_list_bloctel'
        else:
            message = 'bol_air_crm.msg_call_list_opposed'
        raise CallListValidationError(gettext(
                message, party=party.rec_name))


class FillResult(ModelView):
    __name__ = 'bol_air.call.list.fill.result'
    __string__ = "Fill Call List"

    added = fields.Integer("Calls Added", readonly=True)
    left_out = fields.Integer(
        "Left Out", readonly=True,
        help="Leads to call back who may not be phoned: on Bloctel without "
        "being customers, or opposed to phone prospecting.")


class Fill(Wizard):
    "Fill a call list with the leads to call back"
    __name__ = 'bol_air.call.list.fill'

    start = StateTransition()
    result = StateView(
        'bol_air.call.list.fill.result',
        'bol_air_crm.call_list_fill_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        pool = Pool()
        CallList = pool.get('bol_air.call.list')
        self.result.added, self.result.left_out = (
            CallList.fill_from_leads(self.records))
        return 'result'

    def default_result(self, fields):
        return {f: getattr(self.result, f, None) for f in fields}
