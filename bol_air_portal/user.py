# This file is part of bol_air_portal.
"""Customer accounts of the portal on Tryton ``web.user``: sign-up linked to
the customer file, the password policy, the e-mails with links to the
portal's pages (validation, reset, invitation)."""
import datetime
import hmac
import secrets
import urllib.parse
from email.message import EmailMessage
from types import SimpleNamespace

from zxcvbn import zxcvbn

import trytond.config as config
from trytond.i18n import gettext
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.res.exceptions import PasswordError
from trytond.sendmail import send_message_transactional
from trytond.tools import escape_wildcard
from trytond.tools.email_ import normalize_email, set_from_header
from trytond.transaction import Transaction, inactive_records
from trytond.url import http_host

from .exceptions import PasswordPolicyError

MODULE = 'bol_air_portal'
# CNIL: at least 12 characters when nothing else protects the password
# (the portal's login is also rate-limited by web.user)
MIN_PASSWORD_LENGTH = 12
# zxcvbn's score (0 to 4) a password must reach: 3 = safely unguessable
# by an online attack
MIN_PASSWORD_SCORE = 3
# The time to follow the link confirming a new e-mail
EMAIL_CHANGE_DELAY = datetime.timedelta(hours=48)
# E-mails of a kind the portal's forms send to an address within the
# [session] timeout (5 minutes by default)
MAX_MAILS = 2


def portal_url(path='/', **params):
    """The full address of the portal page ``path`` of the current database,
    for e-mails sent outside a portal page (the client's wizards)"""
    base = config.get(MODULE, 'url', default=None) or http_host()
    url = '%s/%s/portal%s' % (base.rstrip('/'),
        urllib.parse.quote(Transaction().database.name), path)
    params = {k: v for k, v in params.items() if v is not None}
    if params:
        url += '?' + urllib.parse.urlencode(params)
    return url


def web_user_email(email):
    "The e-mail as web.user stores it (normalized, lower case)"
    return normalize_email((email or '').strip()).lower()


class User(metaclass=PoolMeta):
    __name__ = 'web.user'

    portal_new_email = fields.Char(
        "New E-mail", readonly=True,
        help="The address the customer asked for on the portal: it replaces "
        "the e-mail once she has followed the link sent to it.")
    portal_new_email_token = fields.Char(
        "New E-mail Token", readonly=True, strip=False)
    portal_new_email_expire = fields.Timestamp(
        "New E-mail Expires", readonly=True)

    @classmethod
    def check_password(cls, password, hash_):
        # An account without a password yet (invited, or created by the
        # staff) makes the core's check fail with a TypeError
        if not hash_:
            return False, None
        return super().check_password(password, hash_)

    # Password policy
    @classmethod
    def check_portal_password(cls, password, email, name=None):
        """Raise PasswordPolicyError if ``password`` does not follow the
        portal's policy: at least 12 characters (more if the ``[password]
        length`` setting says so), not the e-mail nor the name, and the
        core checks (``[password] forbidden`` list), and not easily guessed
        (zxcvbn score of 3 at least). ``web.user`` skips them
        for user 0, the user of the portal's pages."""
        pool = Pool()
        ResUser = pool.get('res.user')
        length = max(MIN_PASSWORD_LENGTH,
            config.getint('password', 'length', default=0))
        if len(password) < length:
            raise PasswordPolicyError(gettext(
                    f'{MODULE}.msg_password_too_short', length=length))
        lowered = password.strip().lower()
        email = (email or '').strip().lower()
        if email and lowered in {email, email.split('@')[0]}:
            raise PasswordPolicyError(gettext(
                    f'{MODULE}.msg_password_email'))
        if name and lowered == name.strip().lower():
            raise PasswordPolicyError(gettext(
                    f'{MODULE}.msg_password_name'))
        try:
            ResUser.validate_password(password, [
                    SimpleNamespace(email=email, name=name, login=None)])
        except PasswordError as e:
            raise PasswordPolicyError(e.message) from e
        # Long but guessable: common words, keyboard rows (azerty…),
        # sequences, dates, the person's own name or e-mail (zxcvbn)
        inputs = [v for v in [email, email.split('@')[0], name] if v]
        if zxcvbn(password[:100], user_inputs=inputs)['score'] < (
                MIN_PASSWORD_SCORE):
            raise PasswordPolicyError(gettext(
                    f'{MODULE}.msg_password_guessable'))

    # Sign-up
    @classmethod
    def portal_find_party(cls, email):
        """The customer whose contact e-mail is ``email`` (any case): a
        customer of the file first, then the oldest; or None"""
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        email = web_user_email(email)
        mechanisms = ContactMechanism.search([
                ('type', '=', 'email'),
                ('value', 'ilike', escape_wildcard(email)),
                ('party.active', '=', True),
                ])
        parties = [m.party for m in mechanisms
            if web_user_email(m.value) == email]
        if parties:
            return min(parties, key=lambda p: (not p.crm_customer, p.id))

    @classmethod
    def portal_signup(cls, name, email, password, url):
        """Create the account of ``email`` for the customer on file with
        this e-mail or a new customer, and send the validation e-mail; if an
        account exists already, send its owner a reminder instead.
        ``url(path, **params)`` gives the absolute address of a portal page.
        The caller answers the same in both cases."""
        pool = Pool()
        Party = pool.get('party.party')
        email = web_user_email(email)
        existing = cls.search([('email', '=', email)], limit=1)
        if existing:
            # Same work as a new account: the answer time tells nothing
            cls.hash_password(password)
            cls.portal_send_existing(existing, url)
            return
        party = cls.portal_find_party(email)
        if party is None:
            party = Party(name=name, crm_customer=True, source='portal',
                contact_mechanisms=[{'type': 'email', 'value': email}])
            party.save()
        user = cls(email=email, party=party, email_valid=False)
        user.save()
        # The setter skips the core checks as user 0: done by the caller
        cls.write([user], {'password': password})
        cls.portal_send_validation([user], url)
        return user

    # E-mails
    @classmethod
    def _portal_mail_allowed(cls, kind, email):
        """Whether the portal may send the e-mail ``kind`` to ``email`` now:
        at most MAX_MAILS within the ``[session] timeout``, so that nobody
        floods a mailbox through the forms (recorded as login attempts of
        ``kind:email``, which also count for the IP network's limit)"""
        pool = Pool()
        Attempt = pool.get('web.user.authenticate.attempt')
        key = f'{kind}:{email}'
        if Attempt.count(key) >= MAX_MAILS:
            return False
        Attempt.add(key)
        return True

    @classmethod
    def _portal_send(
            cls, user, subject, body, throttle=True, to=None, **variables):
        pool = Pool()
        Configuration = pool.get('ir.configuration')
        to = to or user.email
        if throttle and not cls._portal_mail_allowed(subject, to):
            return
        if user.party and user.party.lang:
            language = user.party.lang.code
        else:
            language = Configuration.get_language()
        with Transaction().set_context(language=language):
            subject = gettext(f'{MODULE}.{subject}')
            body = gettext(f'{MODULE}.{body}', **variables)
        msg = EmailMessage()
        msg.set_content(body)
        from_ = config.get('email', 'from')
        set_from_header(msg, from_, from_)
        msg['To'] = to
        msg['Subject'] = subject
        send_message_transactional(msg)

    @classmethod
    def portal_send_validation(cls, users, url):
        "Send each user a link to the portal page validating its e-mail"
        for user in users:
            if not user.email_token:
                user.set_email_token()
        cls.save(users)
        for user in users:
            cls._portal_send(user, 'msg_mail_validation_subject',
                'msg_mail_validation_body',
                url=url('/validate', token=user.email_token))

    # Change of e-mail
    @classmethod
    def portal_change_email(cls, user, email, url):
        """Keep ``email`` as the customer's new address and send the link
        confirming it to it: she logs in with the current one until she
        follows it, logged in, within EMAIL_CHANGE_DELAY"""
        email = web_user_email(email)
        now = datetime.datetime.now()
        # The same address asked again: the link sent stays valid (a mail
        # held back by the limit does not void it)
        if not (user.portal_new_email == email
                and user.portal_new_email_expire
                and user.portal_new_email_expire > now):
            user.portal_new_email = email
            user.portal_new_email_token = secrets.token_hex(32)
        user.portal_new_email_expire = now + EMAIL_CHANGE_DELAY
        user.save()
        cls._portal_send(user, 'msg_mail_email_change_subject',
            'msg_mail_email_change_body', to=user.portal_new_email,
            url=url('/account/email/confirm',
                token=user.portal_new_email_token),
            hours=int(EMAIL_CHANGE_DELAY.total_seconds() // 3600))

    @classmethod
    def portal_pending_email(cls, user, token):
        "Whether ``token`` confirms the pending new e-mail of ``user``"
        return bool(user.portal_new_email and user.portal_new_email_token
            and user.portal_new_email_expire
            and user.portal_new_email_expire > datetime.datetime.now()
            and hmac.compare_digest(user.portal_new_email_token, token))

    @classmethod
    def portal_cancel_email_change(cls, users):
        cls.write(users, {
                'portal_new_email': None,
                'portal_new_email_token': None,
                'portal_new_email_expire': None,
                })

    @classmethod
    def portal_confirm_email(cls, user):
        """The pending new address replaces the former one as login, as the
        customer's contact e-mail and on her newsletters; the former
        address is told. Return False if another account took it meanwhile
        (the change is then dropped)."""
        new, old = user.portal_new_email, user.email
        cls.portal_cancel_email_change([user])
        if cls.search([('email', '=', new), ('id', '!=', user.id)], limit=1):
            return False
        cls.write([user], {'email': new, 'email_valid': True})
        if user.party:
            cls._portal_rectify_email(user.party, old, new)
        cls._portal_send(user, 'msg_mail_email_changed_subject',
            'msg_mail_email_changed_body', throttle=False, to=old,
            email=new)
        return True

    @classmethod
    def _portal_rectify_email(cls, party, old, new):
        """The customer's contact e-mail and newsletter addresses that were
        ``old`` become ``new`` (a contact e-mail is added if none was)"""
        pool = Pool()
        ContactMechanism = pool.get('party.contact_mechanism')
        MarketingEmail = pool.get('marketing.email')
        mechanisms = [m for m in party.contact_mechanisms
            if m.type == 'email' and web_user_email(m.value) == old]
        if mechanisms:
            ContactMechanism.write(mechanisms, {'value': new})
        elif not any(m.type == 'email' and web_user_email(m.value) == new
                for m in party.contact_mechanisms):
            ContactMechanism.create([{
                        'party': party.id, 'type': 'email', 'value': new}])
        with inactive_records():
            emails = MarketingEmail.search(['OR', [
                        ('person', '=', party.id),
                        ('email', '=', old),
                        ], [
                        ('email', '=', new),
                        ]])
        # One row per address and list: where the new address is on the
        # list already, its row stays (subscribed if it is hers and the
        # former one was) and the former one goes
        on_list = {e.list_.id: e for e in emails if e.email == new}
        former = [e for e in emails if e.email == old]
        replaced = [e for e in former if e.list_.id in on_list]
        moved = [e for e in former if e.list_.id not in on_list]
        activate = [on_list[e.list_.id] for e in replaced
            if e.active and not on_list[e.list_.id].active
            and on_list[e.list_.id].person == party]
        if replaced:
            MarketingEmail.delete(replaced)
        if moved:
            MarketingEmail.write(moved, {'email': new})
        if activate:
            MarketingEmail.write(activate, {'active': True})

    @classmethod
    def _portal_reset_token(cls, users):
        """Give users without a pending reset token a new one (as
        ``reset_password``: a pending token is not replaced); return those
        who got one"""
        now = datetime.datetime.now()
        users = [u for u in users
            if not (u.reset_password_token_expire
                and u.reset_password_token_expire > now)]
        for user in users:
            user.set_reset_password_token()
        cls.save(users)
        return users

    def _portal_reset_url(self, url):
        return url('/reset/new',
            token=self.reset_password_token, email=self.email)

    @classmethod
    def portal_send_reset(cls, users, url):
        "Send a link to the portal page choosing a new password"
        for user in cls._portal_reset_token(users):
            cls._portal_send(user, 'msg_mail_reset_subject',
                'msg_mail_reset_body', url=user._portal_reset_url(url))

    @classmethod
    def portal_send_existing(cls, users, url):
        """Tell those who sign up again that they have an account, with a
        link to choose a new password"""
        reset = cls._portal_reset_token(users)
        for user in users:
            cls._portal_send(user, 'msg_mail_existing_subject',
                'msg_mail_existing_body',
                reset=(gettext(f'{MODULE}.msg_mail_existing_reset',
                        url=user._portal_reset_url(url))
                    if user in reset else ''),
                login=url('/login'), forgotten=url('/reset'))

    @classmethod
    def portal_reset_token_values(cls):
        """The values of a new reset token, to create accounts with it (one
        INSERT per batch instead of an UPDATE per account)"""
        user = cls()
        user.set_reset_password_token()
        return {
            'reset_password_token': user.reset_password_token,
            'reset_password_token_expire': user.reset_password_token_expire,
            }

    @classmethod
    def portal_send_invitation(cls, users, url):
        """Invite users to choose their password on the portal, with the
        link of their reset token"""
        for user in users:
            cls._portal_send(user, 'msg_mail_invitation_subject',
                'msg_mail_invitation_body', throttle=False,
                name=user.party.rec_name if user.party else '',
                url=user._portal_reset_url(url))

    @classmethod
    def portal_set_password_token(cls, email, token, password):
        """Set the password of the account with the reset ``token`` (single
        use, until it expires): the e-mail is then validated too, as the
        token came by e-mail, and the other sessions are closed.
        Return the user or None."""
        pool = Pool()
        Session = pool.get('web.user.session')
        email = web_user_email(email)
        if not (email and token
                and cls.set_password_token(email, token, password)):
            return None
        user, = cls.search([('email', '=', email)])
        if not user.email_valid:
            user.email_valid = True
            user.email_token = None
            user.save()
        # Who recovers the account drops a change of e-mail she may not
        # have asked for
        if user.portal_new_email:
            cls.portal_cancel_email_change([user])
        Session.delete(Session.search([('user', '=', user.id)]))
        return user

    # Links of the core e-mails (sent by the staff's buttons) lead to the
    # portal unless the configuration says otherwise
    def get_email_validation_url(self, url=None):
        if url is None and config.get(
                'web', 'email_validation_url', default=None) is None:
            return portal_url('/validate', token=self.email_token)
        return super().get_email_validation_url(url=url)

    def get_email_reset_password_url(self, url=None):
        if url is None and config.get(
                'web', 'reset_password_url', default=None) is None:
            return self._portal_reset_url(portal_url)
        return super().get_email_reset_password_url(url=url)
