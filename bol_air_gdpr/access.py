# This file is part of bol_air_gdpr.
"""The right of access (RGPD article 15): everything held about a person,
as a JSON file (for machines and portability) and a workbook (for people).

Each module contributes what it stores through the hook
``Party.gdpr_access_sections``: it returns the sections of its data, built
with ``Party.gdpr_access_section`` from a domain and field names (one search
and one read a model, whatever the number of records), and calls super.
Secrets (password hashes, tokens, session keys) are never listed."""
import datetime as dt
import io
import json
import re
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import inactive_records, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

# What a section does not show: files and lists of other records (which
# come as sections of their own)
SKIPPED_TYPES = {'binary', 'one2many', 'many2many'}
RELATED_TYPES = {'many2one', 'one2one', 'reference'}
SELECTION_TYPES = {'selection', 'multiselection'}
SHEET_TITLE_LENGTH = 31
_SHEET_TITLE_INVALID = re.compile(r'[\\/*?:\[\]]')


class Section:
    """A part of the access export: key (machine name, the JSON key), title
    (translated, the sheet name), fields [(name, translated label)] and rows
    [{name: JSON value}]; numeric: the names whose text values are numbers
    (decimals are text in JSON, numbers in the workbook)"""
    __slots__ = ('key', 'title', 'fields', 'rows', 'numeric')

    def __init__(self, key, title, fields, rows, numeric=()):
        self.key = key
        self.title = title
        self.fields = list(fields)
        self.rows = list(rows)
        self.numeric = set(numeric)

    def __repr__(self):
        return f'<Section {self.key}: {len(self.rows)} rows>'


def _date(value):
    if isinstance(value, dt.datetime):
        # DateTime and Timestamp fields are kept in UTC
        return value.replace(tzinfo=dt.timezone.utc).isoformat()
    return value.isoformat()


def json_value(type_, value, related=None, string=None):
    """The JSON value of a field of type_ read as value, with its related
    record read as related ({'rec_name': ...}) and its selection text as
    string"""
    if type_ in RELATED_TYPES:
        return related['rec_name'] if related else None
    if value is None:
        return None
    if type_ in SELECTION_TYPES:
        return string
    if type_ in {'date', 'datetime', 'timestamp', 'time'}:
        return _date(value)
    if type_ == 'boolean':
        # SQLite gives integers
        return bool(value)
    if type_ == 'timedelta':
        return value.total_seconds()
    if isinstance(value, Decimal):
        return str(value)
    return value


def sheet_title(title, used):
    """A valid worksheet title for title, not in used (lower case titles,
    updated): at most 31 characters, none of \\ / * ? : [ ]"""
    title = _SHEET_TITLE_INVALID.sub(' ', title or '').strip().strip("'")
    title = title[:SHEET_TITLE_LENGTH].strip() or '-'
    candidate, number = title, 1
    while candidate.lower() in used:
        number += 1
        suffix = f' ({number})'
        candidate = title[:SHEET_TITLE_LENGTH - len(suffix)] + suffix
    used.add(candidate.lower())
    return candidate


def access_xlsx(sections):
    """The workbook of sections: one sheet a section, a header row of
    labels, formulas kept as text"""
    import openpyxl

    from bol_air_crm.cleaning import safe_cell

    def cell(value, numeric):
        if numeric and isinstance(value, str):
            return Decimal(value)
        if isinstance(value, list):
            value = ', '.join(str(v) for v in value)
        elif isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False, sort_keys=True)
        return safe_cell(value)

    workbook = openpyxl.Workbook(write_only=True)
    used = set()
    for section in sections:
        sheet = workbook.create_sheet(sheet_title(section.title, used))
        sheet.append([safe_cell(label) for _, label in section.fields])
        names = [(n, n in section.numeric) for n, _ in section.fields]
        for row in section.rows:
            sheet.append([cell(row.get(n), numeric) for n, numeric in names])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def access_json(party, sections):
    data = {
        'generated_at': dt.datetime.now(dt.timezone.utc).isoformat(
            timespec='seconds'),
        'person': party.code,
        'sections': {s.key: s.rows for s in sections},
        }
    return json.dumps(data, ensure_ascii=False, indent=2).encode('utf-8')


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def gdpr_access_section(
            cls, key, title, model, domain, names, order=None):
        """The section key titled title of the records of model matching
        domain, inactive ones included, with the fields names: one search
        and one read, whatever the number of records.

        Labels come from fields_get (the user's language); a related record
        shows its record name, a selection its translated text, dates are
        ISO texts (date times in UTC), decimals texts; files and x2many
        fields are left out."""
        Model = Pool().get(model)
        definitions = Model.fields_get(names)
        names = [n for n in names
            if definitions[n]['type'] not in SKIPPED_TYPES]
        read_names = []
        for name in names:
            type_ = definitions[name]['type']
            read_names.append(name)
            if type_ in RELATED_TYPES:
                read_names.append(f'{name}.rec_name')
            elif type_ in SELECTION_TYPES:
                read_names.append(f'{name}:string')
        with inactive_records():
            records = Model.search(domain, order=order)
            values = {r['id']: r for r in Model.read(
                    [r.id for r in records], read_names)}
        rows = []
        for record in records:
            value = values[record.id]
            rows.append({
                    n: json_value(
                        definitions[n]['type'], value[n],
                        value.get(f'{n}.'), value.get(f'{n}:string'))
                    for n in names})
        return Section(
            key, title, [(n, definitions[n]['string']) for n in names], rows,
            numeric=[n for n in names
                if definitions[n]['type'] == 'numeric'])

    def gdpr_access_sections(self):
        """The sections of the access export of the person: modules extend
        it with super().gdpr_access_sections() + [their sections]"""
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        WebUser = pool.get('web.user')
        Email = pool.get('marketing.email')
        section = self.gdpr_access_section
        party = ('party', '=', self.id)
        with inactive_records():
            mechanisms = ContactMechanism.search(
                [party, ('type', '=', 'email')])
            web_users = WebUser.search([party])
        emails = {m.value.lower() for m in mechanisms if m.value}
        emails |= {u.email.lower() for u in web_users if u.email}
        # Her addresses, and her subscriptions by a stored link to the person
        # when a module adds one
        email_domain = ['OR', ('email', 'in', sorted(emails))] + [
            (n, '=', self.id) for n, f in Email._fields.items()
            if isinstance(f, fields.Many2One)
            and f.model_name == 'party.party']
        return [
            section(
                'identity', gettext('bol_air_gdpr.msg_access_identity'),
                'party.party', [('id', '=', self.id)],
                ['code', 'name', 'civility', 'first_name', 'last_name',
                    'birth_date', 'lang', 'crm_customer', 'host_status',
                    'source', 'referrer', 'ambassador', 'former_codes',
                    'legacy_revenue', 'legacy_revenue_date',
                    'legacy_meeting_count', 'meeting_count',
                    'annual_revenue', 'active', 'create_date']),
            section(
                'addresses', gettext('bol_air_gdpr.msg_access_addresses'),
                'party.address', [party],
                ['party_name', 'street', 'postal_code', 'city',
                    'subdivision', 'country', 'active', 'create_date']),
            section(
                'contact_mechanisms',
                gettext('bol_air_gdpr.msg_access_contact_mechanisms'),
                'party.contact_mechanism', [party],
                ['type', 'value', 'name', 'comment', 'active',
                    'create_date']),
            section(
                'identifiers', gettext('bol_air_gdpr.msg_access_identifiers'),
                'party.identifier', [party],
                ['type', 'code']),
            section(
                'orders', gettext('bol_air_gdpr.msg_access_orders'),
                'sale.sale', [party],
                ['number', 'reference', 'sale_date', 'state', 'meeting',
                    'untaxed_amount', 'tax_amount', 'total_amount',
                    'currency', 'invoice_address', 'shipment_address'],
                order=[('sale_date', 'DESC'), ('id', 'DESC')]),
            section(
                'order_lines', gettext('bol_air_gdpr.msg_access_order_lines'),
                'sale.line', [('sale.party', '=', self.id)],
                ['sale', 'product', 'description', 'quantity', 'unit',
                    'unit_price', 'amount'],
                order=[('sale', 'DESC'), ('sequence', 'ASC'), ('id', 'ASC')]),
            section(
                'invoices', gettext('bol_air_gdpr.msg_access_invoices'),
                'account.invoice', [party],
                ['type', 'number', 'reference', 'invoice_date', 'state',
                    'total_amount', 'currency'],
                order=[('invoice_date', 'DESC'), ('id', 'DESC')]),
            section(
                'meetings_hosted',
                gettext('bol_air_gdpr.msg_access_meetings_hosted'),
                'bol_air.meeting', [('host', '=', self.id)],
                ['number', 'date', 'end_date', 'state', 'ambassador',
                    'address', 'guest_count', 'sales_amount', 'host_reward',
                    'notes']),
            section(
                'meetings_guest',
                gettext('bol_air_gdpr.msg_access_meetings_guest'),
                'bol_air.meeting.guest', [party],
                ['meeting', 'meeting_date', 'meeting_state', 'attended',
                    'wants_to_host'],
                order=[('meeting.date', 'DESC'), ('id', 'DESC')]),
            section(
                'interactions',
                gettext('bol_air_gdpr.msg_access_interactions'),
                'bol_air.interaction', [party],
                ['date', 'channel', 'employee', 'meeting', 'summary',
                    'follow_up_date', 'follow_up_done']),
            section(
                'consents', gettext('bol_air_gdpr.msg_access_consents'),
                'bol_air.gdpr.consent', [party],
                ['date', 'purpose', 'status', 'channel', 'text_version',
                    'collected_by', 'web_user', 'meeting', 'ip_address',
                    'user_agent', 'scan_filename', 'comment']),
            section(
                'requests', gettext('bol_air_gdpr.msg_access_requests'),
                'bol_air.gdpr.request', [party],
                ['received_date', 'kind', 'channel', 'details',
                    'identity_checked', 'identity_check', 'extension_months',
                    'extension_notified', 'due_date', 'state', 'outcome',
                    'closed_date']),
            section(
                'marketing_emails',
                gettext('bol_air_gdpr.msg_access_marketing_emails'),
                'marketing.email', email_domain,
                ['email', 'list_', 'active', 'create_date']),
            # Never the password hash, the tokens nor the sessions
            section(
                'web_users', gettext('bol_air_gdpr.msg_access_web_users'),
                'web.user', [party],
                ['email', 'email_valid', 'active', 'create_date']),
            ]

    def gdpr_access_files(self):
        """(JSON bytes, XLSX bytes) of everything held about the person, in
        the user's language, whoever the user (the DPO's action)"""
        with without_check_access(), inactive_records():
            sections = self.gdpr_access_sections()
        return access_json(self, sections), access_xlsx(sections)


class AccessExportResult(ModelView):
    __name__ = 'bol_air.gdpr.access_export.result'
    __string__ = "Access Export"

    party = fields.Many2One('party.party', "Person", readonly=True)
    json_file = fields.Binary(
        "JSON File", filename='json_filename', readonly=True)
    json_filename = fields.Char("JSON File Name", readonly=True)
    xlsx_file = fields.Binary(
        "Spreadsheet", filename='xlsx_filename', readonly=True)
    xlsx_filename = fields.Char("Spreadsheet File Name", readonly=True)


class AccessExport(Wizard):
    "Everything held about a person (right of access), for the DPO"
    __name__ = 'bol_air.gdpr.access_export'

    start = StateTransition()
    result = StateView(
        'bol_air.gdpr.access_export.result',
        'bol_air_gdpr.access_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        party = self.record
        if self.model.__name__ == 'bol_air.gdpr.request':
            party = self.record.party
        json_file, xlsx_file = party.gdpr_access_files()
        stem = gettext(
            'bol_air_gdpr.msg_access_filename', code=party.code or party.id)
        self.result.party = party
        self.result.json_file = json_file
        self.result.json_filename = f'{stem}.json'
        self.result.xlsx_file = xlsx_file
        self.result.xlsx_filename = f'{stem}.xlsx'
        return 'result'

    def default_result(self, fields):
        values = {f: getattr(self.result, f, None) for f in fields}
        if 'party' in values and values['party']:
            values['party'] = values['party'].id
        return values
