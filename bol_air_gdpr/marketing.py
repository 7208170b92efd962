# This file is part of bol_air_gdpr.
"""Newsletters through marketing_email, bound to the consent ledger: each
list serves a purpose; the double opt-in records the consent with its proof
and the unsubscribe link withdraws it; any withdrawal takes the person off
the purpose's lists at once, and a message is only sent to the people whose
consent covers the purpose when it is sent."""
from collections import defaultdict

from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import inactive_records

from .exceptions import ConsentError


class EmailList(metaclass=PoolMeta):
    __name__ = 'marketing.email.list'

    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", ondelete='RESTRICT',
        help="The processing the list serves: only people whose consent "
        "covers it receive its messages.")

    @classmethod
    def default_purpose(cls):
        Purpose = Pool().get('bol_air.gdpr.purpose')
        purposes = Purpose.search([('code', '=', 'newsletter')], limit=1)
        return purposes[0].id if purposes else None


class Email(metaclass=PoolMeta):
    __name__ = 'marketing.email'

    person = fields.Many2One(
        'party.party', "Person", ondelete='CASCADE',
        help="The person the address belongs to, whose consent applies.")

    @classmethod
    def _party_of(cls, emails):
        "{e-mail: party id} of the people on file with these addresses"
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        WebUser = pool.get('web.user')
        result = {}
        emails = list(emails)
        if not emails:
            return result
        for user in WebUser.search([('email', 'in', emails)]):
            if user.party:
                result[user.email] = user.party.id
        for mechanism in ContactMechanism.search([
                    ('type', '=', 'email'),
                    ('value', 'in', emails),
                    ], order=[('id', 'ASC')]):
            result.setdefault(mechanism.value.lower(), mechanism.party.id)
        return result

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('person') and values.get(
                'email'):
            party = cls._party_of([values['email']]).get(values['email'])
            if party:
                values['person'] = party
        return values

    @classmethod
    def validate_fields(cls, emails, field_names):
        super().validate_fields(emails, field_names)
        cls.check_consent(emails, field_names)

    @classmethod
    def check_consent(cls, emails, field_names=None):
        "An active subscription needs the consent of the person"
        if field_names and not field_names & {'active', 'person', 'list_'}:
            return
        emails = [e for e in emails if e.active and e.list_.purpose]
        allowed = set(cls.allowed(emails))
        for email in emails:
            if email not in allowed:
                raise ConsentError(gettext(
                        'bol_air_gdpr.msg_email_no_consent',
                        email=email.email,
                        list=email.list_.rec_name,
                        purpose=email.list_.purpose.rec_name))

    @classmethod
    def allowed(cls, emails):
        """The subscriptions of emails the purpose of their list may
        process now, in one query per purpose"""
        pool = Pool()
        Party = pool.get('party.party')
        by_purpose = defaultdict(list)
        result = []
        for email in emails:
            if not email.list_.purpose:
                result.append(email)
            elif email.person:
                by_purpose[email.list_.purpose].append(email)
        for purpose, records in by_purpose.items():
            with inactive_records():
                ids = {p.id for p in Party.search(
                            [('id', 'in', [e.person.id for e in records])]
                            + purpose.party_domain())}
            result.extend(e for e in records if e.person.id in ids)
        return result

    @classmethod
    def _record_consents(cls, emails, status):
        """Record status for the purposes of the lists of emails, with the
        proof of the request (address, browser); people not on file
        become prospects"""
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Party = pool.get('party.party')
        emails = [e for e in emails if e.list_.purpose]
        if status != 'given':
            # Nothing to withdraw for an address never linked to a person
            emails = [e for e in emails if e.person]
        missing = [e for e in emails if not e.person]
        if missing:
            known = cls._party_of({e.email for e in missing})
            new = sorted({e.email for e in missing} - set(known))
            parties = Party.create([{
                        'name': email,
                        'contact_mechanisms': [('create', [{
                                        'type': 'email', 'value': email,
                                        }])],
                        } for email in new])
            known.update(zip(new, (p.id for p in parties)))
            for email in missing:
                email.person = known[email.email]
            cls.save(missing)
        current = Consent.current_status(
            list({e.person.id for e in emails}),
            list({e.list_.purpose.id for e in emails}))
        values = {}
        for email in emails:
            key = email.person.id, email.list_.purpose.id
            if current.get(key) != status and key not in values:
                values[key] = {
                    'party': key[0],
                    'purpose': key[1],
                    'status': status,
                    'channel': 'email',
                    'text_version': (email.list_.purpose.current_text.id
                        if status == 'given'
                        and email.list_.purpose.current_text else None),
                    'comment': gettext(
                        'bol_air_gdpr.msg_email_consent_comment',
                        list=email.list_.rec_name),
                    }
        if values:
            Consent.create(list(values.values()))

    @classmethod
    def subscribe(cls, tokens):
        with inactive_records():
            emails = cls.search([('email_token', 'in', tokens)])
        cls._record_consents(emails, 'given')
        return super().subscribe(tokens)

    @classmethod
    def unsubscribe(cls, tokens):
        emails = cls.search([('email_token', 'in', tokens)])
        result = super().unsubscribe(tokens)
        cls._record_consents(emails, 'withdrawn')
        return result

    @classmethod
    def sync_consents(cls, consents):
        """Follow new consent entries: a withdrawal takes the person off
        the purpose's lists, a consent given otherwise than by e-mail puts
        the person's e-mail address on them"""
        pool = Pool()
        EmailList = pool.get('marketing.email.list')
        Party = pool.get('party.party')
        purposes = {c.purpose.id for c in consents}
        lists = EmailList.search([('purpose', 'in', list(purposes))])
        if not lists:
            return
        latest = {}
        for consent in sorted(consents, key=lambda c: (c.date, c.id)):
            latest[consent.party.id, consent.purpose.id] = consent
        withdrawn = {k for k, c in latest.items() if c.status == 'withdrawn'}
        given = {k for k, c in latest.items()
            if c.status == 'given' and c.channel != 'email'}
        with inactive_records():
            emails = cls.search([
                    ('person', 'in', list({k[0] for k in latest})),
                    ('list_', 'in', [l.id for l in lists]),
                    ])
        cls.write(
            [e for e in emails if e.active
                and (e.person.id, e.list_.purpose.id) in withdrawn]
            or [], {'active': False})
        subscribed = {(e.person.id, e.list_.id): e for e in emails}
        to_activate, to_create = [], []
        if given:
            addresses = {
                p.id: p.contact_mechanism_get({'email'})
                for p in Party.browse(list({k[0] for k in given}))}
            for party_id, purpose_id in sorted(given):
                mechanism = addresses.get(party_id)
                if not mechanism:
                    continue
                for list_ in lists:
                    if list_.purpose.id != purpose_id:
                        continue
                    email = subscribed.get((party_id, list_.id))
                    if email and not email.active:
                        to_activate.append(email)
                    elif not email:
                        to_create.append({
                                'email': mechanism.value,
                                'list_': list_.id,
                                'person': party_id,
                                })
        if to_activate:
            cls.write(to_activate, {'active': True})
        if to_create:
            cls._create_or_activate(to_create)

    @classmethod
    def _create_or_activate(cls, values):
        "Create the subscriptions, reusing one of the same address and list"
        with inactive_records():
            existing = {(e.email, e.list_.id): e for e in cls.search([
                        ('email', 'in', [v['email'].lower() for v in values]),
                        ])}
        to_write, to_create = [], []
        for value in values:
            email = existing.get((value['email'].lower(), value['list_']))
            if email:
                to_write.extend(([email], {
                            'active': True, 'person': value['person']}))
            else:
                to_create.append(value)
        if to_write:
            cls.write(*to_write)
        if to_create:
            cls.create(to_create)


class Message(metaclass=PoolMeta):
    __name__ = 'marketing.email.message'

    @classmethod
    def process(cls, messages=None, emails=None, smtpd_datamanager=None):
        "Send each message only to the people its purpose may reach now"
        pool = Pool()
        Email = pool.get('marketing.email')
        if emails:
            # A test message to chosen addresses
            return super().process(
                messages, emails=emails,
                smtpd_datamanager=smtpd_datamanager)
        if messages is None:
            messages = cls.search([('state', '=', 'sending')])
        for message in messages:
            allowed = Email.allowed(message.list_.emails)
            if allowed:
                super().process(
                    [message], emails=allowed,
                    smtpd_datamanager=smtpd_datamanager)
        if messages:
            cls.sent(messages)
