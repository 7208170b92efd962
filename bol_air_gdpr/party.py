# This file is part of bol_air_gdpr.
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction


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
        # The entries stay (what was agreed, when, by which channel), not
        # what identifies the person in them
        return super().to_erase(party_id) + [
            (Consent, [('party', '=', party_id)], True,
                ['ip_address', 'user_agent', 'scan_id', 'scan_filename',
                    'comment'],
                [None, None, None, None, None]),
            (Request, [('party', '=', party_id)], True,
                ['channel', 'details', 'identity_check'],
                [None, None, None]),
            ]
