# This file is part of bol_air_gdpr.
"""Target lists: the people of a campaign, chosen by a search on the
customer file (any criteria, a segment) or picked by hand from the customer
list, always cut down to those the list's purpose may process. Consent is
checked when the list is filled, when a person is added, and again when the
list is exported or sent to an e-mail list: a withdrawal since the fill is
effective at once."""
import datetime as dt
import io
from collections import defaultdict

from sql.aggregate import Count

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval, PYSONDecoder, PYSONEncoder
from trytond.tools import grouped_slice
from trytond.transaction import (
    Transaction, inactive_records, without_check_access)
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import TargetListError

ORIGINS = [
    ('criteria', "Criteria"),
    ('manual', "Added by Hand"),
    ]
# Column titles of the export: those of the CRM's customer file, so that
# the file reads back in the customer import
EXPORT_HEADERS = ["N° client", "Nom", "Prénom", "E-mail", "Téléphone"]


class TargetList(ModelSQL, ModelView):
    __name__ = 'bol_air.target.list'
    __string__ = "Target List"

    name = fields.Char("Name", required=True)
    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", required=True,
        ondelete='RESTRICT',
        help="What the list is for: it only ever holds the people whose "
        "consent (or absence of opposition) covers this purpose.")
    criteria = fields.Char(
        "Criteria", required=True,
        help="A search on the customers, e.g. "
        "[('addresses.city', '=', 'Limoges')] or "
        "[('host_status', '=', 'host')]: \"Fill\" puts the customers "
        "matching it on the list.")
    segment = fields.Many2One(
        'bol_air.segment', "Segment", ondelete='SET NULL',
        help="Keep only the customers of this segment (with the criteria).")
    members = fields.One2Many(
        'bol_air.target.list.member', 'list_', "Members")
    member_count = fields.Function(
        fields.Integer("Members"), 'get_member_count')
    excluded_count = fields.Integer(
        "Excluded for Lack of Consent", readonly=True,
        help="Customers matching the criteria left out at the last fill "
        "because the purpose may not process them.")
    filled_date = fields.DateTime("Filled on", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('name', 'ASC'))
        cls._buttons.update({
                'fill': {
                    'icon': 'tryton-refresh',
                    },
                'export_members': {
                    'icon': 'tryton-export',
                    'readonly': Eval('id', -1) < 0,
                    'depends': ['id'],
                    },
                'send_members': {
                    'icon': 'tryton-email',
                    'readonly': Eval('id', -1) < 0,
                    'depends': ['id'],
                    },
                })

    @classmethod
    def default_purpose(cls):
        Purpose = Pool().get('bol_air.gdpr.purpose')
        purposes = Purpose.search([('code', '=', 'newsletter')], limit=1)
        return purposes[0].id if purposes else None

    @classmethod
    def default_criteria(cls):
        return '[]'

    @classmethod
    def default_excluded_count(cls):
        return 0

    @classmethod
    def get_member_count(cls, lists, name):
        Member = Pool().get('bol_air.target.list.member')
        member = Member.__table__()
        cursor = Transaction().connection.cursor()
        result = dict.fromkeys([l.id for l in lists], 0)
        for sub_ids in grouped_slice([l.id for l in lists], 1000):
            cursor.execute(*member.select(
                    member.list_, Count(member.id),
                    where=fields.SQL_OPERATORS['in'](
                        member.list_, list(sub_ids)),
                    group_by=[member.list_]))
            result.update(cursor)
        return result

    def criteria_domain(self):
        "The domain of the customers the criteria select"
        domain = [
            ('crm_customer', '=', True),
            PYSONDecoder({}).decode(self.criteria or '[]'),
            ]
        if self.segment:
            domain.append(('segment', '=', self.segment.id))
        return domain

    @classmethod
    def validate_fields(cls, lists, field_names):
        super().validate_fields(lists, field_names)
        cls.check_criteria(lists, field_names)
        if not field_names or 'purpose' in field_names:
            # A list changing purpose must hold only people it covers
            Member = Pool().get('bol_air.target.list.member')
            Member.check_consent(sum((list(l.members) for l in lists), []))

    @classmethod
    def check_criteria(cls, lists, field_names=None):
        pool = Pool()
        Party = pool.get('party.party')
        if field_names and 'criteria' not in field_names:
            return
        for list_ in lists:
            try:
                domain = PYSONDecoder({}).decode(list_.criteria)
                if not isinstance(domain, list):
                    raise ValueError(domain)
                fields.domain_validate(domain)
                Party.search(domain, limit=0)
            except Exception as exception:
                raise TargetListError(gettext(
                        'bol_air_gdpr.msg_target_list_invalid_criteria',
                        list=list_.rec_name,
                        exception=exception)) from exception

    @staticmethod
    def encode_criteria(domain):
        "The criteria text of domain (a list)"
        return PYSONEncoder(sort_keys=True).encode(domain)

    @classmethod
    def copy(cls, lists, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('members')
        default.setdefault('excluded_count', 0)
        default.setdefault('filled_date')
        return super().copy(lists, default=default)

    @classmethod
    @ModelView.button
    def fill(cls, lists):
        """Put on each list the customers matching its criteria whom its
        purpose may process; the members added by hand stay while the
        purpose covers them. A few statements a list, whatever its size."""
        pool = Pool()
        Party = pool.get('party.party')
        Member = pool.get('bol_air.target.list.member')
        Date = pool.get('ir.date')
        today = Date.today()
        now = dt.datetime.now().replace(microsecond=0)
        to_delete, to_create, to_write = [], [], []
        for list_ in lists:
            domain = list_.criteria_domain()
            matching = Party.search(domain, count=True)
            allowed = {p.id for p in Party.search(
                        domain + list_.purpose.party_domain(), order=[])}
            members = Member.search([('list_', '=', list_.id)])
            kept = {m.party.id: m for m in Member.allowed(members)}
            for member in members:
                if (member.party.id not in kept
                        or (member.origin == 'criteria'
                            and member.party.id not in allowed)):
                    to_delete.append(member)
                    kept.pop(member.party.id, None)
            for party_id in sorted(allowed - set(kept)):
                to_create.append({
                        'list_': list_.id,
                        'party': party_id,
                        'origin': 'criteria',
                        'added_date': today,
                        })
            to_write.extend(([list_], {
                        'excluded_count': matching - len(allowed),
                        'filled_date': now,
                        }))
        if to_delete:
            Member.delete(to_delete)
        if to_create:
            Member.create(to_create)
        if to_write:
            cls.write(*to_write)

    @classmethod
    @ModelView.button_action('bol_air_gdpr.wizard_target_list_export')
    def export_members(cls, lists):
        pass

    @classmethod
    @ModelView.button_action('bol_air_gdpr.wizard_target_list_send')
    def send_members(cls, lists):
        pass


class Member(ModelSQL, ModelView):
    __name__ = 'bol_air.target.list.member'
    __string__ = "Target List Member"

    list_ = fields.Many2One(
        'bol_air.target.list', "List", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Person", required=True, ondelete='CASCADE')
    email = fields.Function(fields.Char("E-mail"), 'get_contacts')
    phone = fields.Function(fields.Char("Phone"), 'get_contacts')
    origin = fields.Selection(ORIGINS, "Origin", readonly=True)
    added_date = fields.Date("Added on", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('list_party_unique', Unique(t, t.list_, t.party),
                'bol_air_gdpr.msg_target_member_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.party, Index.Range())))
        cls._order = [('list_', 'ASC'), ('id', 'ASC')]

    @classmethod
    def default_origin(cls):
        return 'manual'

    @classmethod
    def default_added_date(cls):
        return Pool().get('ir.date').today()

    def get_rec_name(self, name):
        return self.party.rec_name

    @classmethod
    def search_rec_name(cls, name, clause):
        return [('party.rec_name', *clause[1:])]

    @classmethod
    def get_contacts(cls, members, names):
        """The first e-mail address and phone number of each person, in one
        query for all"""
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        from bol_air_crm.cleaning import format_phone
        result = {n: dict.fromkeys([m.id for m in members]) for n in names}
        party_ids = list({m.party.id for m in members})
        first = {}
        for sub_ids in grouped_slice(party_ids, 1000):
            for mechanism in ContactMechanism.search([
                        ('party', 'in', list(sub_ids)),
                        ('type', 'in', ['email', 'mobile', 'phone']),
                        ], order=[('sequence', 'ASC'), ('id', 'ASC')]):
                kind = 'email' if mechanism.type == 'email' else 'phone'
                first.setdefault((mechanism.party.id, kind), mechanism.value)
        for member in members:
            for name in names:
                value = first.get((member.party.id, name))
                if name == 'phone' and value:
                    value = format_phone(value)
                result[name][member.id] = value
        return result

    @classmethod
    def validate_fields(cls, members, field_names):
        super().validate_fields(members, field_names)
        if not field_names or field_names & {'party', 'list_'}:
            cls.check_consent(members)

    @classmethod
    def check_consent(cls, members):
        "Nobody is on a list whose purpose may not process them"
        allowed = set(cls.allowed(members))
        for member in members:
            if member not in allowed:
                raise TargetListError(gettext(
                        'bol_air_gdpr.msg_target_member_no_consent',
                        party=member.party.rec_name,
                        list=member.list_.rec_name,
                        purpose=member.list_.purpose.rec_name))

    @classmethod
    def allowed(cls, members):
        """The members the purpose of their list may process now (active
        persons only), in one query per purpose"""
        pool = Pool()
        Party = pool.get('party.party')
        by_purpose = defaultdict(list)
        for member in members:
            by_purpose[member.list_.purpose].append(member)
        result = []
        for purpose, records in by_purpose.items():
            ids = set()
            for sub in grouped_slice(
                    list({m.party.id for m in records}), 1000):
                ids.update(p.id for p in Party.search(
                            [('id', 'in', list(sub))]
                            + purpose.party_domain(), order=[]))
            result.extend(m for m in records if m.party.id in ids)
        return result


def members_xlsx(members):
    """The workbook of members: the cells a spreadsheet could evaluate
    are written as text"""
    import openpyxl

    from bol_air_crm.cleaning import safe_cell
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(
        gettext('bol_air_gdpr.msg_target_list_export_sheet'))
    sheet.append(EXPORT_HEADERS)
    for member in members:
        party = member.party
        sheet.append([safe_cell(v) for v in [
                    party.code,
                    party.last_name or party.name,
                    party.first_name,
                    member.email,
                    member.phone,
                    ]])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


class ExportResult(ModelView):
    __name__ = 'bol_air.target.list.export.result'
    __string__ = "Export Target List"

    file = fields.Binary("File", filename='filename', readonly=True)
    filename = fields.Char("File Name", readonly=True)
    count = fields.Integer("Exported", readonly=True)
    withdrawn_count = fields.Integer(
        "Left Out since the Fill", readonly=True,
        help="Members the purpose may no longer process (consent "
        "withdrawn since they were added): they are not in the file.")


class Export(Wizard):
    "Export the members of a target list the purpose covers today"
    __name__ = 'bol_air.target.list.export'
    __string__ = "Export Target List"

    start = StateTransition()
    result = StateView(
        'bol_air.target.list.export.result',
        'bol_air_gdpr.target_list_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        list_ = self.record
        members = list(list_.members)
        allowed = set(Pool().get(
                'bol_air.target.list.member').allowed(members))
        exported = [m for m in members if m in allowed]
        self.result.file = members_xlsx(exported)
        self.result.filename = gettext(
            'bol_air_gdpr.msg_target_list_export_filename', list=list_.name)
        self.result.count = len(exported)
        self.result.withdrawn_count = len(members) - len(exported)
        return 'result'

    def default_result(self, fields):
        return {f: getattr(self.result, f, None) for f in fields}


class SendStart(ModelView):
    __name__ = 'bol_air.target.list.send.start'
    __string__ = "Send to an E-mail List"

    target_list = fields.Many2One(
        'bol_air.target.list', "Target List", readonly=True)
    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", readonly=True)
    email_list = fields.Many2One(
        'marketing.email.list', "E-mail List", required=True,
        domain=[('purpose', '=', Eval('purpose', -1))],
        help="A list of the same purpose: the members with an e-mail "
        "address are subscribed to it.")


class SendResult(ModelView):
    __name__ = 'bol_air.target.list.send.result'
    __string__ = "Send to an E-mail List"

    subscribed = fields.Integer("Subscribed", readonly=True)
    without_email = fields.Integer("Without E-mail", readonly=True)
    withdrawn_count = fields.Integer(
        "Left Out since the Fill", readonly=True,
        help="Members the purpose may no longer process: not subscribed.")


class Send(Wizard):
    """Subscribe the members of a target list to a marketing e-mail list of
    the same purpose (needs the Marketing group)"""
    __name__ = 'bol_air.target.list.send'
    __string__ = "Send to an E-mail List"
    start_state = 'check'

    check = StateTransition()
    start = StateView(
        'bol_air.target.list.send.start',
        'bol_air_gdpr.target_list_send_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Send", 'send', 'tryton-ok', default=True),
            ])
    send = StateTransition()
    done = StateView(
        'bol_air.target.list.send.result',
        'bol_air_gdpr.target_list_send_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_check(self):
        pool = Pool()
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        group = ModelData.get_id('marketing', 'group_marketing')
        if Transaction().user and group not in User.get_groups():
            raise TargetListError(gettext(
                    'bol_air_gdpr.msg_target_list_send_marketing_group'))
        return 'start'

    def default_start(self, fields):
        list_ = self.record
        values = {
            'target_list': list_.id,
            'purpose': list_.purpose.id,
            }
        EmailList = Pool().get('marketing.email.list')
        email_lists = EmailList.search(
            [('purpose', '=', list_.purpose.id)], limit=2)
        if len(email_lists) == 1:
            values['email_list'] = email_lists[0].id
        return values

    def transition_send(self):
        pool = Pool()
        Email = pool.get('marketing.email')
        Member = pool.get('bol_air.target.list.member')
        list_ = self.record
        email_list = self.start.email_list
        if email_list.purpose != list_.purpose:
            raise TargetListError(gettext(
                    'bol_air_gdpr.msg_target_list_send_purpose',
                    email_list=email_list.rec_name,
                    email_purpose=(email_list.purpose.rec_name
                        if email_list.purpose else '-'),
                    list=list_.rec_name,
                    purpose=list_.purpose.rec_name))
        members = list(list_.members)
        allowed = Member.allowed(members)
        values, seen = [], set()
        for member in allowed:
            if member.email and member.email.lower() not in seen:
                seen.add(member.email.lower())
                values.append({
                        'email': member.email,
                        'list_': email_list.id,
                        'person': member.party.id,
                        })
        if values:
            Email._create_or_activate(values)
        self.done.subscribed = len(values)
        self.done.without_email = len(
            [m for m in allowed if not m.email])
        self.done.withdrawn_count = len(members) - len(allowed)
        return 'done'

    def default_done(self, fields):
        return {f: getattr(self.done, f, None) for f in fields}


class AddStart(ModelView):
    __name__ = 'bol_air.target.list.add.start'
    __string__ = "Add to a Target List"

    target_list = fields.Many2One(
        'bol_air.target.list', "Target List", required=True)


class AddResult(ModelView):
    __name__ = 'bol_air.target.list.add.result'
    __string__ = "Add to a Target List"

    added = fields.Integer("Added", readonly=True)
    already = fields.Integer("Already on the List", readonly=True)
    excluded = fields.Integer(
        "Excluded for Lack of Consent", readonly=True,
        help="Selected people the list's purpose may not process: "
        "they were not added.")


class Add(Wizard):
    "Add the selected customers to a target list, if its purpose covers them"
    __name__ = 'bol_air.target.list.add'
    __string__ = "Add to a Target List"

    start = StateView(
        'bol_air.target.list.add.start',
        'bol_air_gdpr.target_list_add_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Add", 'add', 'tryton-ok', default=True),
            ])
    add = StateTransition()
    done = StateView(
        'bol_air.target.list.add.result',
        'bol_air_gdpr.target_list_add_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_add(self):
        pool = Pool()
        Party = pool.get('party.party')
        Member = pool.get('bol_air.target.list.member')
        list_ = self.start.target_list
        ids = list({r.id for r in self.records})
        allowed = set()
        for sub in grouped_slice(ids, 1000):
            allowed.update(p.id for p in Party.search(
                        [('id', 'in', list(sub))]
                        + list_.purpose.party_domain(), order=[]))
        present = {m.party.id for m in Member.search([
                    ('list_', '=', list_.id),
                    ('party', 'in', ids),
                    ])}
        new = sorted(allowed - present)
        if new:
            Member.create([{
                        'list_': list_.id,
                        'party': party_id,
                        'origin': 'manual',
                        } for party_id in new])
        self.done.added = len(new)
        self.done.already = len(allowed & present)
        self.done.excluded = len(ids) - len(allowed)
        return 'done'

    def default_done(self, fields):
        return {f: getattr(self.done, f, None) for f in fields}


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('bol_air.target.list.member', 'party'),
            ]

    def transition_replace(self):
        "A list holding both people keeps one entry, the kept person's"
        Member = Pool().get('bol_air.target.list.member')
        with without_check_access(), inactive_records():
            lists = [m.list_.id for m in Member.search([
                        ('party', '=', self.ask.destination.id)])]
            Member.delete(Member.search([
                        ('party', '=', self.ask.source.id),
                        ('list_', 'in', lists),
                        ]))
        return super().transition_replace()


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def transition_erase(self):
        "An erased person leaves every target list"
        Member = Pool().get('bol_air.target.list.member')
        with without_check_access():
            Member.delete(Member.search([
                        ('party', '=', self.ask.party.id)]))
        return super().transition_erase()
