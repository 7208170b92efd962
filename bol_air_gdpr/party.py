# This file is part of bol_air_gdpr.
from sql import Column

from trytond.filestore import filestore
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, inactive_records


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    consents = fields.One2Many(
        'bol_air.gdpr.consent', 'party', "Consent History", readonly=True)
    consent_statuses = fields.One2Many(
        'bol_air.gdpr.consent.status', 'party', "Consents", readonly=True)
    consent_purposes = fields.Function(
        fields.Many2Many(
            'bol_air.gdpr.purpose', None, None, "Consented Purposes",
            help="The purposes the person's latest entry agrees to."),
        'get_consent_purposes', searcher='search_consent_purposes')

    @classmethod
    def gdpr_erase(cls, parties):
        """Deactivate and erase parties with Tryton's party.erase (each
        module blanks what it stores); raise EraseError, erasing nothing,
        while one has an open order or invoice"""
        pool = Pool()
        Erase = pool.get('party.erase', type='wizard')
        parties = list(parties)
        if not parties:
            return
        session_id, _, _ = Erase.create()
        try:
            erase = Erase(session_id)
            for party in parties:
                erase.check_erase_company_all(party)
            cls.write(parties, {'active': False})
            for party in parties:
                erase.ask.party = party
                erase.transition_erase()
        finally:
            Erase.delete(session_id)

    @classmethod
    def get_consent_purposes(cls, parties, name):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        purposes = [p.id for p in Purpose.search([])]
        status = Consent.current_status([p.id for p in parties], purposes)
        result = {p.id: [] for p in parties}
        for (party_id, purpose_id), value in sorted(status.items()):
            if value == 'given':
                result[party_id].append(purpose_id)
        return result

    @classmethod
    def search_consent_purposes(cls, name, clause):
        "Persons whose current consent covers the purpose(s) searched"
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        _, operator, value, *extra = clause
        nested = clause[0][len(name) + 1:]
        if nested or isinstance(value, str):
            field = nested or 'rec_name'
            purposes = Purpose.search([(field, operator, value, *extra)])
            operator = 'in'
            value = [p.id for p in purposes]
        if operator in {'=', 'in'}:
            ids = [value] if operator == '=' else list(value or [])
            return [('id', 'in', Consent.current_query(ids))]
        if operator in {'!=', 'not in'}:
            ids = [value] if operator == '!=' else list(value or [])
            return [('id', 'not in', Consent.current_query(ids))]
        raise ValueError(f"unsupported operator: {operator}")


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        # A merged duplicate's consents and requests follow the person kept
        return super().fields_to_replace() + [
            ('bol_air.gdpr.consent', 'party'),
            ('bol_air.gdpr.request', 'party'),
            ('marketing.email', 'person'),
            ]


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def check_erase_company_all(self, party):
        "The checks of check_erase that do not need the party inactive"
        pool = Pool()
        Party = pool.get('party.party')
        Company = pool.get('company.company')
        for company in Company.search([]):
            with Transaction().set_context(company=company.id):
                self.check_erase_company(Party(party.id), company)

    def to_erase(self, party_id):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Request = pool.get('bol_air.gdpr.request')
        ContactMechanism = pool.get('party.contact_mechanism')
        Email = pool.get('marketing.email')
        WebUser = pool.get('web.user')
        Attempt = pool.get('web.user.authenticate.attempt')
        # Read before the other modules blank them
        with inactive_records():
            logins = [u.email for u in WebUser.search(
                        [('party', '=', party_id)]) if u.email]
        # The entries stay (what was agreed, when, by which channel), not
        # what identifies the person in them
        to_erase = super().to_erase(party_id) + [
            # Tryton leaves the phone number in its compact form
            (ContactMechanism, [('party', '=', party_id)], False,
                ['value_compact'], [None]),
            # A subscription keeps its unique token, not the address
            (Email, [('person', '=', party_id)], False,
                ['email'], [lambda c: Column(c.table, 'email_token')]),
            (Attempt, [('login', 'in', logins)], False,
                ['login'], [None]),
            (Consent, [('party', '=', party_id)], True,
                ['ip_address', 'user_agent', 'scan_id', 'scan_filename',
                    'comment'],
                [None, None, None, None, None]),
            (Request, [('party', '=', party_id)], True,
                ['channel', 'details', 'identity_check'],
                [None, None, None]),
            ]
        delete_files_on_commit(self._stored_files(to_erase))
        return to_erase

    @classmethod
    def _stored_files(cls, to_erase):
        """The (file id, prefix) in the filestore of what to_erase blanks
        (a binary field whose file id column is erased) or deletes (the
        attachments of the resources)"""
        pool = Pool()
        Attachment = pool.get('ir.attachment')
        database = Transaction().database.name
        files = []
        for Model, domain, resource, columns, _ in to_erase:
            binaries = [f for f in Model._fields.values()
                if getattr(f, 'file_id', None) in columns]
            if not binaries and not resource:
                continue
            with inactive_records():
                records = Model.search(domain)
            for field in binaries:
                prefix = field.store_prefix or database
                files.extend(
                    (getattr(r, field.file_id), prefix) for r in records
                    if getattr(r, field.file_id))
            if resource and records:
                prefix = Attachment.data.store_prefix or database
                files.extend((a.file_id, prefix) for a in Attachment.search([
                            ('resource', 'in', [str(r) for r in records]),
                            ]) if a.file_id)
        return files


class FileDeletion:
    "Delete files of the filestore once the transaction is committed"

    def __init__(self):
        self.files = []

    def __eq__(self, other):
        return isinstance(other, FileDeletion)

    def __hash__(self):
        return hash(FileDeletion)

    def tpc_begin(self, transaction):
        pass

    def commit(self, transaction):
        pass

    def tpc_vote(self, transaction):
        pass

    def tpc_finish(self, transaction):
        for file_id, prefix in self.files:
            filestore.delete(file_id, prefix=prefix)
        self.files.clear()

    def tpc_abort(self, transaction):
        self.files.clear()


def delete_files_on_commit(files):
    if files:
        Transaction().join(FileDeletion()).files.extend(files)
