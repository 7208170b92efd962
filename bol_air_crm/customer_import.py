# This file is part of bol_air_crm.
"""Import of customer files (xlsx): cleaning, duplicate detection, dry run.

The import reads the whole file, cleans every cell, groups the rows that
are the same person (shared e-mail, shared phone, or same name and
postcode), matches the groups against the customers already on file, then
writes everything in a few batched statements — or nothing at all when a
row is invalid, unless partial imports are asked for."""
import datetime as dt
import io
import re
import zipfile
from collections import defaultdict
from decimal import Decimal
from functools import partial

import phonenumbers
from sql import Column, Null
from sql.functions import CurrentTimestamp

from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice
from trytond.tools.email_ import normalize_email
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from . import cleaning
from .cleaning import CleaningError
from .exceptions import ImportFileError

XLSX_MAGIC = b'PK\x03\x04'
OLE_MAGIC = b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1'  # encrypted xlsx, old xls

SOURCES = {
    'reunion': 'meeting', 'meeting': 'meeting',
    'telephone': 'phone', 'phone': 'phone',
    'portail': 'portal', 'portal': 'portal', 'internet': 'portal',
    'salon': 'fair', 'foire': 'fair', 'fair': 'fair',
    'parrainage': 'referral', 'referral': 'referral',
    'import': 'import', 'fichier': 'import',
    'autre': 'other', 'other': 'other',
    }
# Fields of the extended customer card, in the order of the export
EXPORT_FIELDS = [
    'code', 'civility', 'last_name', 'first_name', 'street', 'postal_code',
    'city', 'phone', 'email', 'birth_date', 'host', 'ambassador',
    'meeting_count', 'annual_revenue', 'source']
# Column titles of the extended customer card: the file format, in French
# whatever the user's language, so that an export reads back as an import
EXPORT_HEADERS = [
    "N° client", "Civilité", "Nom", "Prénom", "Adresse", "Code postal",
    "Ville", "Téléphone", "E-mail", "Date de naissance", "Hôte",
    "Ambassadeur", "Nombre de réunions", "CA annuel", "Source"]
# Fields kept on the party itself (the others go to addresses and contacts)
PARTY_FIELDS = [
    'civility', 'last_name', 'first_name', 'birth_date',
    'meeting_count', 'annual_revenue', 'source']


def clean_source(value):
    text = cleaning.clean_text(value)
    if text is None:
        return None
    key = cleaning.normalize_header(text)
    if key not in SOURCES:
        raise CleaningError('invalid_source', value=text)
    return SOURCES[key]


CLEANERS = {
    'code': cleaning.clean_text,
    'civility': cleaning.clean_civility,
    'last_name': cleaning.clean_last_name,
    'first_name': cleaning.clean_first_name,
    'street': cleaning.clean_text,
    'postal_code': cleaning.clean_postal_code,
    'city': cleaning.clean_text,
    'phone': cleaning.clean_phone,
    'email': cleaning.clean_email,
    'birth_date': partial(cleaning.clean_date, past_only=True),
    'host': cleaning.clean_yes_no,
    'ambassador': cleaning.clean_text,
    'meeting_count': cleaning.clean_integer,
    'annual_revenue': cleaning.clean_amount,
    'source': clean_source,
    }


def field_string(field):
    return gettext(f'bol_air_crm.msg_import_field_{field}')


def error_text(code, params):
    "The French sentence of a cleaning error"
    params = {k: str(v) for k, v in (params or {}).items()}
    params.setdefault('value', '')
    return gettext(f'bol_air_crm.msg_import_error_{code}', **params)


ADDRESS_COLUMNS = ['street_unstructured', 'postal_code', 'city']
INSERT_PARAMS = 30_000  # below SQLite's 32 766 and PostgreSQL's 65 535


def bulk_insert(Model, rows, columns=None):
    """Insert the rows (dicts) in multi-row INSERT statements and return
    their ids in the same order: the statement count grows by batches of
    rows, not by rows. The values must have been validated already."""
    transaction = Transaction()
    connection = transaction.connection
    database = transaction.database
    cursor = connection.cursor()
    table = Model.__table__()
    if columns is None:
        columns = sorted({c for r in rows for c in r if c != 'party'})
    columns = ['party'] * any('party' in r for r in rows) + [
        c for c in columns if c != 'party']
    if 'active' in Model._fields and 'active' not in columns:
        columns.append('active')
        rows = [dict(r, active=True) for r in rows]
    sql_columns = [Column(table, c) for c in columns] + [
        table.create_uid, table.create_date]
    formats = [Model._fields[c].sql_format for c in columns]
    ids = []
    # Both backends take far more parameters in an INSERT than in the
    # nested expressions backend.MAX_QUERY_PARAMS is sized for
    size = max(1, min(1000, INSERT_PARAMS // (len(sql_columns) + 1)))
    for sub in grouped_slice(rows, size):
        values = [
            [f(r.get(c)) for f, c in zip(formats, columns)]
            + [transaction.user, CurrentTimestamp()] for r in sub]
        new_ids = database.nextid(connection, Model._table, count=len(values))
        if isinstance(new_ids, int):
            new_ids = [new_ids]  # PostgreSQL gives a single id alone
        if new_ids is not None:
            for value, id_ in zip(values, new_ids):
                value.append(id_)
            cursor.execute(*table.insert(sql_columns + [table.id], values))
        else:
            # SQLite locks the whole database while writing: the rows of one
            # INSERT get consecutive ids ending at the last one
            cursor.execute(*table.insert(sql_columns, values))
            last = database.lastid(cursor)
            new_ids = list(range(last - len(values) + 1, last + 1))
        ids.extend(new_ids)
    transaction.create_records[Model.__name__].extend(ids)
    return ids


def _contact_columns(values):
    """The stored columns of a contact mechanism, formatted as the party
    module does (phones: international display, E.164 compact form)"""
    value = values['value']
    compact = value
    if values['type'] in {'phone', 'mobile'}:
        number = phonenumbers.parse(value)
        value = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        compact = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.E164)
    elif values['type'] == 'email':
        value = compact = normalize_email(value)
    return {
        'party': values['party'],
        'type': values['type'],
        'value': value,
        'value_compact': compact,
        }


class Row:
    "One line of the file, cleaned"
    __slots__ = (
        'number', 'values', 'errors', 'status', 'detail', 'party', 'group')

    def __init__(self, number):
        self.number = number  # line number as the spreadsheet shows it
        self.values = {}
        self.errors = []  # (field, code, params)
        self.status = None
        self.detail = ''
        self.party = None
        self.group = None

    @property
    def name_key(self):
        last_name = self.values.get('last_name')
        if last_name:
            return cleaning.name_key(last_name, self.values.get('first_name'))


class _UnionFind:
    def __init__(self, size):
        self.parent = list(range(size))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i, j):
        i, j = self.find(i), self.find(j)
        if i != j:
            # the earliest row leads the group
            if j < i:
                i, j = j, i
            self.parent[j] = i


def check_file(data, max_size):
    "Refuse before parsing what is not a sound xlsx of a sensible size"
    if len(data) > max_size:
        raise ImportFileError(gettext(
                'bol_air_crm.msg_import_file_too_big',
                size=round(len(data) / 1_000_000, 1),
                max_size=round(max_size / 1_000_000, 1)))
    if data[:8] == OLE_MAGIC:
        raise ImportFileError(gettext(
                'bol_air_crm.msg_import_file_protected'))
    if data[:4] != XLSX_MAGIC:
        raise ImportFileError(gettext('bol_air_crm.msg_import_file_not_xlsx'))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if '[Content_Types].xml' not in names or not any(
                    n.startswith('xl/worksheets/') for n in names):
                raise ImportFileError(gettext(
                        'bol_air_crm.msg_import_file_not_xlsx'))
            total = sum(i.file_size for i in archive.infolist())
            if total > 20 * max_size:
                # a zip bomb: refused before decompressing anything
                raise ImportFileError(gettext(
                        'bol_air_crm.msg_import_file_too_big',
                        size=round(total / 1_000_000, 1),
                        max_size=round(max_size / 1_000_000, 1)))
            if archive.testzip() is not None:
                raise zipfile.BadZipFile
    except (zipfile.BadZipFile, EOFError, OSError) as exception:
        raise ImportFileError(gettext(
                'bol_air_crm.msg_import_file_corrupt')) from exception


def read_rows(data, max_rows):
    """Yield the header (list of texts) then the value tuples of the first
    sheet, refusing sheets longer than max_rows."""
    import defusedxml  # noqa: F401 openpyxl parses through defusedxml
    import openpyxl
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exception:
        # openpyxl raises many kinds of errors on broken files
        raise ImportFileError(gettext(
                'bol_air_crm.msg_import_file_corrupt')) from exception
    try:
        sheet = workbook.worksheets[0]
        if sheet.max_row and sheet.max_row > max_rows + 1:
            raise ImportFileError(gettext(
                    'bol_air_crm.msg_import_file_too_long',
                    rows=sheet.max_row - 1, max_rows=max_rows))
        rows = sheet.iter_rows(values_only=True)
        try:
            header = next(rows)
        except StopIteration:
            raise ImportFileError(gettext(
                    'bol_air_crm.msg_import_file_empty'))
        yield [cleaning.clean_text(h) or '' for h in header], (
            (sheet.max_row - 1) if sheet.max_row else None)
        count = 0
        for row in rows:
            if not any(v is not None and str(v).strip() for v in row):
                count += 1
                continue
            count += 1
            if count > max_rows:
                raise ImportFileError(gettext(
                        'bol_air_crm.msg_import_file_too_long',
                        rows=count, max_rows=max_rows))
            yield count + 1, row
    finally:
        workbook.close()


class CustomerImport:
    """Import a customer file into the current company.

    >>> result = CustomerImport(partial=False).run(data, dry_run=True)
    """

    def __init__(self, partial=False, progress=None):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        config = Configuration(1)
        self.partial = partial
        self.progress = progress or (lambda done, total: None)
        self.max_size = config.import_max_size * 1_000_000
        self.max_rows = config.import_max_rows
        self.rows = []
        self.unknown_columns = []
        self.mapping = {}
        self.summary = defaultdict(int)

    # Reading -----------------------------------------------------------
    def load(self, data):
        check_file(data, self.max_size)
        rows = read_rows(data, self.max_rows)
        header, total = next(rows)
        self.mapping, unknown = cleaning.match_headers(header)
        self.unknown_columns = [text for _, text in unknown if text]
        if 'last_name' not in self.mapping.values():
            raise ImportFileError(gettext(
                    'bol_air_crm.msg_import_file_no_name_column'))
        ambassadors = self._ambassadors()
        for number, values in rows:
            if not number % 1000:
                self.progress(number - 1, total)
            row = Row(number)
            for index, field in self.mapping.items():
                value = values[index] if index < len(values) else None
                try:
                    row.values[field] = CLEANERS[field](value)
                except CleaningError as error:
                    row.errors.append((field, error.code, error.params))
            if not row.values.get('last_name'):
                row.errors.append(('last_name', 'required', {}))
            name = row.values.get('ambassador')
            if name:
                employee = ambassadors.get(cleaning.name_key(name, None))
                if employee is None:
                    row.errors.append(
                        ('ambassador', 'unknown_ambassador', {'value': name}))
                row.values['ambassador'] = employee
            self.rows.append(row)
        self.progress(len(self.rows), len(self.rows))
        return self

    def _ambassadors(self):
        pool = Pool()
        Employee = pool.get('company.employee')
        employees = Employee.search([
                ('company', '=', Transaction().context.get('company')),
                ])
        result = {}
        for employee in employees:
            name = employee.party.name or ''
            parts = name.split()
            # "BRUN Maryse" as well as "Maryse Brun"
            for text in [name, ' '.join(parts[1:] + parts[:1])]:
                if key := cleaning.name_key(text, None):
                    result[key] = employee.id
        return result

    # Matching ----------------------------------------------------------
    def _existing(self):
        """Load the keys of the customers on file in a few queries:
        {('email'|'phone'|'name', key): party id} and their codes."""
        pool = Pool()
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        Contact = pool.get('party.contact_mechanism')
        party = Party.__table__()
        address = Address.__table__()
        contact = Contact.__table__()
        cursor = Transaction().connection.cursor()
        keys = {}
        codes = {}
        cursor.execute(*party.select(
                party.id, party.code, party.last_name, party.first_name,
                party.name, party.crm_customer, party.active))
        names = {}
        # Every code in use, archived or not customer ones included
        self.all_codes = set()
        for (party_id, code, last_name, first_name, name, customer,
                active) in cursor:
            self.all_codes.add(code)
            if not customer or not active:
                continue
            codes[party_id] = code
            if code:
                keys[('code', code)] = party_id
            if last_name:
                names[party_id] = cleaning.name_key(last_name, first_name)
            elif name:
                names[party_id] = cleaning.name_key(name, None)
        cursor.execute(*address.select(
                address.party, address.postal_code,
                where=(address.postal_code != Null)
                & (address.active == True)))  # noqa: E712
        for party_id, postal_code in cursor:
            if party_id in names:
                keys.setdefault(
                    ('name', names[party_id], postal_code), party_id)
        cursor.execute(*contact.select(
                contact.party, contact.type, contact.value,
                where=contact.type.in_(['email', 'phone', 'mobile'])
                & (contact.active == True)))  # noqa: E712
        for party_id, type_, value in cursor:
            if party_id not in codes:
                continue
            if type_ == 'email':
                key = ('email', cleaning.email_key(value))
            else:
                key = ('phone', cleaning.phone_key(value))
            if key[1]:
                keys.setdefault(key, party_id)
        return keys, codes, names

    @staticmethod
    def _row_keys(row):
        values = row.values
        if values.get('email'):
            yield ('email', cleaning.email_key(values['email']))
        if values.get('phone'):
            yield ('phone', cleaning.phone_key(values['phone']))
        if row.name_key and values.get('postal_code'):
            yield ('name', row.name_key, values['postal_code'])

    def match(self):
        "Group the rows that are one person and find them on file"
        keys, self.codes, names = self._existing()
        # A number on file is the same customer only under the same name
        for row in self.rows:
            code = row.values.get('code')
            if row.errors or not code or code not in self.all_codes:
                continue
            party_id = keys.get(('code', code))
            if party_id is None or names.get(party_id) != row.name_key:
                row.errors.append(('code', 'code_taken', {'value': code}))
        valid = [r for r in self.rows if not r.errors]
        union = _UnionFind(len(valid))
        seen = {}
        for i, row in enumerate(valid):
            for key in self._row_keys(row):
                if key in seen:
                    union.union(seen[key], i)
                else:
                    seen[key] = i
        groups = defaultdict(list)
        for i, row in enumerate(valid):
            groups[union.find(i)].append(row)
        self.groups = []
        for _, rows in sorted(groups.items()):
            party_id = None
            for row in rows:
                for key in self._row_keys(row):
                    if key in keys:
                        party_id = keys[key]
                        break
                code = row.values.get('code')
                if party_id is None and code and ('code', code) in keys:
                    # same number on file: the same customer
                    party_id = keys[('code', code)]
                if party_id:
                    break
            for row in rows:
                row.group = rows
                row.party = party_id
            self.groups.append((party_id, rows))
        # Namesakes: same name, other postcode, nothing shared
        by_name = defaultdict(set)
        for party_id, name in names.items():
            by_name[name].add(('party', party_id))
        for index, (party_id, rows) in enumerate(self.groups):
            for row in rows:
                if row.name_key:
                    by_name[row.name_key].add(
                        ('party', party_id) if party_id else ('group', index))
        self.namesakes = by_name
        return self

    # Writing -----------------------------------------------------------
    def _merged_values(self, rows):
        "The first non-blank value of each field wins; later rows fill blanks"
        values = {}
        former_codes = []
        for row in rows:
            for field, value in row.values.items():
                if value in (None, ''):
                    continue
                if field == 'code':
                    if 'code' not in values:
                        values['code'] = value
                    elif value != values['code']:
                        former_codes.append(value)
                    continue
                values.setdefault(field, value)
        return values, former_codes

    def apply(self, dry_run=False):
        pool = Pool()
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        Contact = pool.get('party.contact_mechanism')
        Date = pool.get('ir.date')
        today = Date.today()

        to_create, creations = [], []
        updates = []
        for party_id, rows in self.groups:
            values, former_codes = self._merged_values(rows)
            if party_id is None:
                to_create.append((values, former_codes, rows))
            else:
                updates.append((party_id, values, former_codes, rows))

        # Existing customers: fill blanks only, never erase
        parties = Party.browse([u[0] for u in updates])
        party_values = {}
        address_to_create, contact_to_create, address_to_write = [], [], []
        addresses = defaultdict(list)
        contacts = defaultdict(set)
        if parties:
            for sub in grouped_slice(parties, 1000):
                sub = list(sub)
                for address in Address.search([
                            ('party', 'in', [p.id for p in sub])]):
                    addresses[address.party.id].append(address)
                for contact in Contact.search([
                            ('party', 'in', [p.id for p in sub])]):
                    contacts[contact.party.id].add(
                        (contact.type, contact.value))
        for party, (party_id, values, former_codes, rows) in zip(
                parties, updates):
            changes = self._party_changes(party, values, former_codes, today)
            blank, address = self._address_changes(
                addresses[party.id], values)
            contact = self._contact_values(contacts[party.id], values)
            if changes:
                party_values[party] = changes
            if address and blank:
                address_to_write.extend(([blank], address))
            elif address:
                address_to_create.append(dict(address, party=party.id))
            contact_to_create.extend(dict(c, party=party.id) for c in contact)
            changed = bool(changes or address or contact)
            for i, row in enumerate(rows):
                if i == 0 and not changed:
                    row.status = 'unchanged'
                elif i == 0:
                    row.status = 'updated'
                else:
                    row.status = 'merged'
                row.detail = party.code or ''

        # Two different people of the file with the same number
        taken = {}
        for values, former_codes, rows in list(to_create):
            code = values.get('code')
            if code and code in taken:
                for row in rows:
                    row.errors.append(('code', 'code_duplicate', {
                                'value': code, 'row': taken[code]}))
                to_create.remove((values, former_codes, rows))
            elif code:
                taken[code] = rows[0].number
        # New customers: numbers from the file, else the next free numbers
        numbers = self._new_numbers(sum(
                1 for v, _, _ in to_create if not v.get('code')))
        for values, former_codes, rows in to_create:
            if not values.get('code'):
                values['code'] = next(numbers)
            creations.append(self._create_values(values, former_codes, today))
            for i, row in enumerate(rows):
                row.status = 'created' if i == 0 else 'merged'
                row.detail = values['code']

        has_errors = any(r.errors for r in self.rows)
        write = not dry_run and (self.partial or not has_errors)
        self._flag_namesakes()
        for row in self.rows:
            if row.errors:
                row.status = 'error'
            self.summary[row.status] += 1

        if write:
            if party_values:
                args = []
                for party, changes in party_values.items():
                    args.extend(([party], changes))
                Party.write(*args)
            new_addresses, new_contacts = [], []
            if creations:
                party_ids = bulk_insert(Party, [c[0] for c in creations])
                for party_id, (_, address, contact) in zip(
                        party_ids, creations):
                    # Like the client, every new customer gets an address,
                    # even empty: orders need one to invoice
                    new_addresses.append(dict(address or {}, party=party_id))
                    new_contacts.extend(
                        dict(c, party=party_id) for c in contact)
            if new_addresses:
                bulk_insert(Address, new_addresses, ADDRESS_COLUMNS)
            if new_contacts:
                bulk_insert(Contact, [
                        _contact_columns(c) for c in new_contacts])
            # Additions to customers already on file go through the ORM
            if address_to_write:
                Address.write(*address_to_write)
            if address_to_create:
                Address.create(address_to_create)
            if contact_to_create:
                Contact.create(contact_to_create)
            self._update_sequence()
        self.written = write
        return self

    def _party_changes(self, party, values, former_codes, today):
        changes = {}
        for field in PARTY_FIELDS + ['ambassador', 'host']:
            value = values.get(field)
            if value in (None, ''):
                continue
            if field == 'annual_revenue':
                if party.legacy_revenue in (None, Decimal(0)):
                    changes['legacy_revenue'] = value
                    changes['legacy_revenue_date'] = today
            elif field == 'meeting_count':
                if not party.legacy_meeting_count:
                    changes['legacy_meeting_count'] = value
            elif field == 'host':
                if value and party.host_status != 'host':
                    changes['host_status'] = 'host'
            elif field == 'ambassador':
                if not party.ambassador:
                    changes['ambassador'] = value
            elif getattr(party, field) in (None, ''):
                changes[field] = value
        known = set(filter(None, (party.former_codes or '').split(', ')))
        new_codes = []
        for code in [values.get('code')] + former_codes:
            if code and code != party.code and code not in known \
                    and code not in new_codes:
                new_codes.append(code)
        if new_codes:
            changes['former_codes'] = ', '.join(sorted(known) + new_codes)
        return changes

    @staticmethod
    def _address_values(values):
        address = {
            k: values[k] for k in ['street', 'postal_code', 'city']
            if values.get(k)}
        if address:
            address['street_unstructured'] = address.pop('street', None)
        return address

    def _address_changes(self, addresses, values):
        """Return the blank address to fill (or None to create one) and the
        values, or (None, None) when the address is already on file"""
        address = self._address_values(values)
        if not address:
            return None, None
        blank = None
        for existing in addresses:
            if not (existing.street_unstructured or existing.postal_code
                    or existing.city):
                blank = blank or existing
            elif (existing.postal_code or None) == address.get(
                    'postal_code'):
                return None, None
        return blank, address

    @staticmethod
    def _contact_values(existing, values):
        contacts = []
        emails = {cleaning.email_key(v) for t, v in existing if t == 'email'}
        if values.get('email') and cleaning.email_key(
                values['email']) not in emails:
            contacts.append({'type': 'email', 'value': values['email']})
        if values.get('phone'):
            phone = values['phone']
            type_ = 'mobile' if phone.startswith(('+336', '+337')) \
                else 'phone'
            known = {cleaning.phone_key(v) for t, v in existing
                if t in {'phone', 'mobile'}}
            if phone not in known:
                contacts.append({'type': type_, 'value': phone})
        return contacts

    def _create_values(self, values, former_codes, today):
        code = values['code']
        digits = re.sub(r'\D', '', code)[-18:]
        party = {
            'active': True,
            'crm_customer': True,
            'code': code,
            'code_alnum': re.sub(r'[\W_]', '', code),
            'code_digit': int(digits) if digits else None,
            'last_name': values.get('last_name'),
            'first_name': values.get('first_name'),
            'name': Pool().get('party.party').full_name_from_parts(
                values.get('last_name'), values.get('first_name')),
            'civility': values.get('civility'),
            'birth_date': values.get('birth_date'),
            'ambassador': values.get('ambassador'),
            'host_status': 'host' if values.get('host') else 'none',
            'source': values.get('source') or 'import',
            'legacy_revenue': values.get('annual_revenue'),
            'legacy_revenue_date': (
                today if values.get('annual_revenue') is not None else None),
            'legacy_meeting_count': values.get('meeting_count'),
            'former_codes': ', '.join(former_codes) or None,
            }
        return party, self._address_values(values), self._contact_values(
            set(), values)

    def _new_numbers(self, count):
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        sequence = Configuration(1).customer_sequence
        used = {c for c in self.all_codes if c}
        used |= {r.values['code'] for r in self.rows if r.values.get('code')}
        number = sequence.number_next or 1
        self._sequence = sequence
        generated = []
        while len(generated) < count:
            code = f'{sequence.prefix or ""}{number}{sequence.suffix or ""}'
            if code not in used:
                generated.append(code)
            number += 1
        # The next customers are numbered after the highest number in use
        highest = max((int(c) for c in used if c.isdigit()), default=0)
        self._number_next = max(number, highest + 1)
        return iter(generated)

    def _update_sequence(self):
        pool = Pool()
        Sequence = pool.get('ir.sequence')
        sequence = getattr(self, '_sequence', None)
        if sequence and self._number_next != sequence.number_next:
            Sequence.write([sequence], {'number_next': self._number_next})

    def _flag_namesakes(self):
        for row in self.rows:
            if row.errors or not row.name_key:
                continue
            others = self.namesakes.get(row.name_key, set())
            mine = ('party', row.party) if row.party else None
            others = [o for o in others if o != mine]
            if mine is None:
                others = [o for o in others if o[0] == 'party'
                    or self.groups[o[1]][1] is not row.group]
            if others:
                row.detail = (row.detail + ' ' if row.detail else '') \
                    + gettext('bol_air_crm.msg_import_possible_duplicate',
                        codes=', '.join(sorted(self._describe(o)
                                for o in others)))
                self.summary['possible_duplicate'] += 1

    def _describe(self, other):
        kind, value = other
        if kind == 'party':
            return self.codes.get(value) or str(value)
        _, rows = self.groups[value]
        return rows[0].values.get('code') or gettext(
            'bol_air_crm.msg_import_row', row=rows[0].number)

    def run(self, data, dry_run=False):
        return self.load(data).match().apply(dry_run=dry_run)

    # Report ------------------------------------------------------------
    def report_rows(self):
        "Yield (line, code, name, status text, detail text) per input row"
        Party = Pool().get('party.party')
        for row in self.rows:
            if row.errors:
                detail = '; '.join(
                    f"{field_string(f)} : {error_text(c, p)}"
                    for f, c, p in row.errors)
            else:
                detail = row.detail
            name = Party.full_name_from_parts(
                row.values.get('last_name'), row.values.get('first_name'))
            yield (row.number, row.values.get('code') or '', name or '',
                gettext(f'bol_air_crm.msg_import_status_{row.status}'),
                detail)

    def summary_text(self):
        summary = gettext(
            'bol_air_crm.msg_import_summary',
            rows=len(self.rows),
            created=self.summary['created'],
            merged=self.summary['merged'],
            updated=self.summary['updated'],
            unchanged=self.summary['unchanged'],
            duplicates=self.summary['possible_duplicate'],
            errors=self.summary['error'])
        if self.unknown_columns:
            summary += '\n' + gettext(
                'bol_air_crm.msg_import_unknown_columns',
                columns=', '.join(self.unknown_columns))
        if not self.written:
            if self.summary['error'] and not self.partial:
                summary += '\n' + gettext(
                    'bol_air_crm.msg_import_nothing_written')
            else:
                summary += '\n' + gettext('bol_air_crm.msg_import_dry_run')
        return summary

    def report_xlsx(self):
        import openpyxl
        workbook = openpyxl.Workbook(write_only=True)
        sheet = workbook.create_sheet(gettext('bol_air_crm.msg_import_report'))
        sheet.append([gettext(f'bol_air_crm.msg_import_report_{c}')
                for c in ['line', 'code', 'name', 'status', 'detail']])
        for values in self.report_rows():
            sheet.append([cleaning.safe_cell(v) for v in values])
        summary = workbook.create_sheet(
            gettext('bol_air_crm.msg_import_report_summary'))
        for line in self.summary_text().split('\n'):
            summary.append([cleaning.safe_cell(line)])
        output = io.BytesIO()
        workbook.save(output)
        return output.getvalue()


def export_rows(parties):
    "Yield the extended customer card of each party (header first)"
    yield list(EXPORT_HEADERS)
    for party in parties:
        address = party.address_get()
        email = party.contact_mechanism_get({'email'})
        phone = party.contact_mechanism_get({'mobile', 'phone'})
        yield [
            party.code,
            {'mme': "Mme", 'm': "M."}.get(party.civility),
            party.last_name or party.name,
            party.first_name,
            address.street_unstructured if address else None,
            address.postal_code if address else None,
            address.city if address else None,
            cleaning.format_phone(phone.value) if phone else None,
            email.value if email else None,
            party.birth_date,
            "Oui" if party.host_status == 'host' else "Non",
            party.ambassador.party.name if party.ambassador else None,
            party.meeting_count,
            party.annual_revenue,
            dict(party.__class__.fields_get(['source'])['source'][
                    'selection']).get(party.source) if party.source else None,
            ]


def export_xlsx(parties):
    import openpyxl
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext('bol_air_crm.msg_export_sheet'))
    for values in export_rows(parties):
        sheet.append([
                cleaning.safe_cell(v) if not isinstance(v, dt.date) else v
                for v in values])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


class ImportStart(ModelView):
    __name__ = 'bol_air.customer.import.start'
    __string__ = "Import Customers"

    file = fields.Binary("File", filename='filename', required=True,
        help="Excel workbook (.xlsx): the former file (annex 2) or "
        "the extended customer card.")
    filename = fields.Char("File Name")
    partial = fields.Boolean(
        "Import Valid Rows Only",
        help="Without it, a file with an invalid row imports nothing.")


class ImportResult(ModelView):
    __name__ = 'bol_air.customer.import.result'
    __string__ = "Import Customers"

    summary = fields.Text("Summary", readonly=True)
    report = fields.Binary(
        "Report", filename='report_filename', readonly=True)
    report_filename = fields.Char("Report File Name", readonly=True)
    can_import = fields.Boolean("Can Import", readonly=True)


class Import(Wizard):
    __name__ = 'bol_air.customer.import'
    __string__ = "Import Customers"

    start = StateView(
        'bol_air.customer.import.start',
        'bol_air_crm.customer_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Check", 'check', 'tryton-search', default=True),
            ])
    check = StateTransition()
    checked = StateView(
        'bol_air.customer.import.result',
        'bol_air_crm.customer_import_result_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True,
                states={
                    'invisible': ~Eval('can_import', False),
                    }),
            ])
    import_ = StateTransition()
    done = StateView(
        'bol_air.customer.import.result',
        'bol_air_crm.customer_import_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def _run(self, dry_run):
        result = CustomerImport(partial=self.start.partial).run(
            self.start.file, dry_run=dry_run)
        return {
            'summary': result.summary_text(),
            'report': result.report_xlsx(),
            'report_filename': gettext(
                'bol_air_crm.msg_import_report_filename'),
            'can_import': bool(
                (result.summary['created'] + result.summary['merged']
                    + result.summary['updated'])
                and (self.start.partial or not result.summary['error'])),
            }

    def transition_check(self):
        for name, value in self._run(dry_run=True).items():
            setattr(self.checked, name, value)
        return 'checked'

    def default_checked(self, fields):
        return {f: getattr(self.checked, f, None) for f in fields}

    def transition_import_(self):
        for name, value in self._run(dry_run=False).items():
            setattr(self.done, name, value)
        return 'done'

    def default_done(self, fields):
        return {f: getattr(self.done, f, None) for f in fields}


class ExportResult(ModelView):
    __name__ = 'bol_air.customer.export.result'
    __string__ = "Export Customers"

    file = fields.Binary("File", filename='filename', readonly=True)
    filename = fields.Char("File Name", readonly=True)
    count = fields.Integer("Customers", readonly=True)


class Export(Wizard):
    __name__ = 'bol_air.customer.export'
    __string__ = "Export Customers"

    start = StateTransition()
    result = StateView(
        'bol_air.customer.export.result',
        'bol_air_crm.customer_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def _domain(self):
        "The domain of the customers to export"
        domain = [('crm_customer', '=', True)]
        if self.model and self.model.__name__ == 'party.party' \
                and self.records:
            domain.append(('id', 'in', [p.id for p in self.records]))
        return domain

    def transition_start(self):
        pool = Pool()
        Party = pool.get('party.party')
        parties = Party.search(self._domain(), order=[('code', 'ASC')])
        self.result.file = export_xlsx(parties)
        self.result.filename = gettext(
            'bol_air_crm.msg_export_filename')
        self.result.count = len(parties)
        return 'result'

    def default_result(self, fields):
        return {f: getattr(self.result, f, None) for f in fields}
