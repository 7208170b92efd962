# This file is part of bol_air_gdpr.
"""Data retention (CNIL): a prospect with no contact *from them* for three
years is erased; the marketing consents of a customer lapse three years
after the last purchase. A daily scheduled job applies both; each run
leaves a report that names people by their customer number only."""
import datetime as dt

from dateutil.relativedelta import relativedelta
from sql import Literal, Null, Union
from sql.aggregate import Max
from sql.operators import Exists

from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.party.exceptions import EraseError
from trytond.pool import Pool, PoolMeta
from trytond.transaction import Transaction, without_check_access

from bol_air_crm.sale import CONFIRMED_SALE_STATES

from .consent import latest

# The channels where the person acted herself: a contact from them
INBOUND_CONSENT_CHANNELS = ['paper', 'portal', 'email']
# The meetings a host really had: she is a customer
HELD_MEETING_STATES = ['held', 'closed']


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'bol_air.gdpr.configuration'
    __string__ = "GDPR Configuration"

    prospect_retention_months = fields.Integer(
        "Prospect Retention (Months)", required=True,
        domain=[('prospect_retention_months', '>', 0)],
        help="Prospects with no contact from them for this many months "
        "are erased.")
    consent_lapse_months = fields.Integer(
        "Consent Lapse (Months)", required=True,
        domain=[('consent_lapse_months', '>', 0)],
        help="The marketing consents of customers lapse this many months "
        "after their last purchase.")

    @classmethod
    def default_prospect_retention_months(cls):
        return 36

    @classmethod
    def default_consent_lapse_months(cls):
        return 36


class Retention(ModelSQL, ModelView):
    "One run of the data retention job: its report"
    __name__ = 'bol_air.gdpr.retention'
    __string__ = "Data Retention Run"

    date = fields.Date(
        "Date", readonly=True,
        help="The day the retention periods were counted from.")
    run_at = fields.DateTime("Run at", readonly=True)
    prospects_erased = fields.Integer("Prospects Erased", readonly=True)
    consents_lapsed = fields.Integer("Consents Lapsed", readonly=True)
    details = fields.Text(
        "Details", readonly=True,
        help="One line per action, with the customer number only: the "
        "report keeps nothing of what was erased.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('run_at', 'DESC'), ('id', 'DESC')]

    def get_rec_name(self, name):
        return str(self.date) if self.date else str(self.id)

    @classmethod
    def _thresholds(cls, today):
        "The last day still kept: earlier is past retention"
        pool = Pool()
        Configuration = pool.get('bol_air.gdpr.configuration')
        config = Configuration(1)
        return (
            today - relativedelta(months=config.prospect_retention_months),
            today - relativedelta(months=config.consent_lapse_months))

    @classmethod
    def run(cls, today=None):
        """Apply the retention periods as of today (the current date by
        default) and return the report of the run"""
        pool = Pool()
        Date = pool.get('ir.date')
        if today is None:
            today = Date.today()
        now = dt.datetime.utcnow().replace(microsecond=0)
        if today != Date.today():
            # Moved "today" (tests, catching up): act as on that day
            now = dt.datetime.combine(today, now.time())
        # A system job, even when an administrator starts it from the
        # scheduler: it sees every party and writes its own report
        with without_check_access():
            details = []
            erased = cls._erase_prospects(today, details)
            lapsed = cls._lapse_consents(today, now, details)
            report, = cls.create([{
                        'date': today,
                        'run_at': now,
                        'prospects_erased': erased,
                        'consents_lapsed': lapsed,
                        'details': '\n'.join(details) or None,
                        }])
        return report

    @classmethod
    def run_cron(cls):
        cls.run()

    @classmethod
    def _last_contact_query(cls):
        """SQL query of each party (column party) with the date of the last
        contact from them (column date): created, came to a meeting as a
        guest, hosts one, got in touch, recorded a consent themselves, or
        bought before the CRM (the legacy revenue)"""
        pool = Pool()
        Party = pool.get('party.party')
        Guest = pool.get('bol_air.meeting.guest')
        Meeting = pool.get('bol_air.meeting')
        Interaction = pool.get('bol_air.interaction')
        Consent = pool.get('bol_air.gdpr.consent')
        party = Party.__table__()
        guest = Guest.__table__()
        meeting = Meeting.__table__()
        hosted = Meeting.__table__()
        interaction = Interaction.__table__()
        consent = Consent.__table__()
        legacy = Party.__table__()

        def to_date(expression):
            return cls.date.sql_cast(expression)

        contacts = Union(
            party.select(
                party.id.as_('party'),
                to_date(party.create_date).as_('date')),
            guest.join(meeting, condition=guest.meeting == meeting.id
                ).select(
                guest.party, to_date(meeting.date),
                where=(guest.attended == Literal(True))
                & (meeting.state != 'cancelled')),
            # Agreeing to host is their move, even before it is held
            hosted.select(
                hosted.host, to_date(hosted.date),
                where=(hosted.host != Null)
                & (hosted.state != 'cancelled')),
            interaction.select(
                interaction.party, interaction.date,
                where=interaction.initiative == 'customer'),
            consent.select(
                consent.party, to_date(consent.date),
                where=consent.channel.in_(INBOUND_CONSENT_CHANNELS)),
            legacy.select(
                legacy.id, legacy.legacy_revenue_date,
                where=legacy.legacy_revenue_date != Null),
            all_=True)
        return contacts.select(
            contacts.party.as_('party'),
            Max(contacts.date).as_('date'),
            group_by=[contacts.party])

    @classmethod
    def _prospects_query(cls, threshold):
        """SQL query of the active prospects (column id) whose last contact
        (column date) is before threshold. A prospect never bought (no sale
        but cancelled ones, no invoice), never hosted a held meeting, is
        not a company nor an employee and has no portal account."""
        pool = Pool()
        Party = pool.get('party.party')
        Sale = pool.get('sale.sale')
        Invoice = pool.get('account.invoice')
        Meeting = pool.get('bol_air.meeting')
        Company = pool.get('company.company')
        Employee = pool.get('company.employee')
        WebUser = pool.get('web.user')
        party = Party.__table__()
        sale = Sale.__table__()
        invoice = Invoice.__table__()
        meeting = Meeting.__table__()
        company = Company.__table__()
        employee = Employee.__table__()
        web_user = WebUser.__table__()
        last = cls._last_contact_query()

        def exists(table, column, where=None):
            condition = column == party.id
            if where is not None:
                condition &= where
            return Exists(table.select(Literal(1), where=condition))

        return party.join(last, condition=last.party == party.id).select(
            party.id.as_('id'), last.date.as_('date'),
            where=(party.active == Literal(True))
            & (last.date < threshold)
            & ~exists(sale, sale.party, sale.state != 'cancelled')
            & ~exists(invoice, invoice.party)
            & ~exists(meeting, meeting.host,
                meeting.state.in_(HELD_MEETING_STATES))
            & ~exists(company, company.party)
            & ~exists(employee, employee.party)
            & ~exists(web_user, web_user.party),
            order_by=[party.id.asc])

    @classmethod
    def _prospects_to_erase(cls, today):
        "[(party id, date of the last contact)] of the prospects to erase"
        cursor = Transaction().connection.cursor()
        threshold, _ = cls._thresholds(today)
        cursor.execute(*cls._prospects_query(threshold))
        return [(id_, _as_date(date)) for id_, date in cursor]

    @classmethod
    def _erase_prospects(cls, today, details):
        """Erase the prospects past retention, one by one so that a refusal
        does not stop the others; return how many were erased"""
        pool = Pool()
        Party = pool.get('party.party')
        candidates = cls._prospects_to_erase(today)
        # Read before erasing: the number stays, the name goes
        names = {
            p.id: (p.code or str(p.id), p.rec_name)
            for p in Party.browse([i for i, _ in candidates])}
        erased = 0
        for party_id, last_contact in candidates:
            code, name = names[party_id]
            try:
                Party.gdpr_erase([Party(party_id)])
            except EraseError as exception:
                # The reason names the person: the report keeps the number
                reason = exception.message
                if name:
                    reason = reason.replace(name, code)
                details.append(gettext(
                        'bol_air_gdpr.msg_retention_prospect_refused',
                        code=code, reason=reason))
            else:
                erased += 1
                details.append(gettext(
                        'bol_air_gdpr.msg_retention_prospect_erased',
                        code=code, date=last_contact))
        return erased

    @classmethod
    def _consents_to_lapse_query(cls, threshold):
        """SQL query of the consents (columns party, purpose, and the date
        of the last purchase) given before threshold, still current, for a
        purpose on the consent basis, of customers whose last purchase is
        before threshold"""
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        Sale = pool.get('sale.sale')
        consent = Consent.__table__()
        purpose = Purpose.__table__()
        sale = Sale.__table__()
        purchase = sale.select(
            sale.party.as_('party'),
            Max(sale.sale_date).as_('date'),
            where=sale.state.in_(CONFIRMED_SALE_STATES),
            group_by=[sale.party])
        return consent.join(
            purpose, condition=consent.purpose == purpose.id
            ).join(purchase, condition=purchase.party == consent.party
            ).select(
            consent.party, consent.purpose, purchase.date,
            where=latest(Consent, consent,
                (consent.status == 'given')
                & (purpose.legal_basis == 'consent')
                & (purchase.date < threshold)
                # A consent given since is a recent choice of the person
                & (consent.date < dt.datetime.combine(threshold, dt.time()))),
            order_by=[consent.party.asc, consent.purpose.asc])

    @classmethod
    def _lapse_consents(cls, today, now, details):
        """Withdraw, in one batch, the marketing consents of the customers
        who bought nothing during the lapse period; return how many"""
        pool = Pool()
        Configuration = pool.get('bol_air.gdpr.configuration')
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        Party = pool.get('party.party')
        cursor = Transaction().connection.cursor()
        _, threshold = cls._thresholds(today)
        cursor.execute(*cls._consents_to_lapse_query(threshold))
        rows = [(p, u, _as_date(d)) for p, u, d in cursor]
        if not rows:
            return 0
        months = Configuration(1).consent_lapse_months
        comment = gettext(
            'bol_air_gdpr.msg_retention_lapse_comment', months=months)
        Consent.create([{
                    'party': party_id,
                    'purpose': purpose_id,
                    'status': 'withdrawn',
                    'channel': 'retention',
                    'date': now,
                    'comment': comment,
                    } for party_id, purpose_id, _ in rows])
        codes = {
            p.id: p.code or str(p.id)
            for p in Party.browse(sorted({r[0] for r in rows}))}
        purposes = {
            p.id: p.rec_name
            for p in Purpose.browse(sorted({r[1] for r in rows}))}
        for party_id, purpose_id, last_purchase in rows:
            details.append(gettext(
                    'bol_air_gdpr.msg_retention_consent_lapsed',
                    code=codes[party_id], purpose=purposes[purpose_id],
                    date=last_purchase))
        return len(rows)


def _as_date(value):
    "The date of a computed column: SQLite returns it as text"
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return value.date()
    return value


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.append(
            ('bol_air.gdpr.retention|run_cron', "Apply Data Retention"))
