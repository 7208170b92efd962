# This file is part of bol_air_portal.
"""The staff invite customers of the file to the portal, many at once."""
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.transaction import without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .user import portal_url, web_user_email


class InviteStart(ModelView):
    __name__ = 'bol_air.portal.invite.start'
    __string__ = "Invite to the Portal"

    count = fields.Integer("Selected Customers", readonly=True)


class InviteResult(ModelView):
    __name__ = 'bol_air.portal.invite.result'
    __string__ = "Invite to the Portal"

    invited = fields.Integer("Invited", readonly=True,
        help="Customers who received an invitation e-mail.")
    no_email = fields.Integer("Skipped: No E-mail", readonly=True,
        help="Customers without an e-mail address.")
    existing = fields.Integer("Skipped: Already an Account", readonly=True,
        help="Customers who have a portal account already, or whose "
        "e-mail is the account of someone else.")


class Invite(Wizard):
    __name__ = 'bol_air.portal.invite'
    __string__ = "Invite to the Portal"

    start = StateView(
        'bol_air.portal.invite.start',
        'bol_air_portal.invite_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Invite", 'invite', 'tryton-ok', default=True),
            ])
    invite = StateTransition()
    done = StateView(
        'bol_air.portal.invite.result',
        'bol_air_portal.invite_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_start(self, fields):
        return {'count': len(self.records)}

    def transition_invite(self):
        invited, no_email, existing = self.invite_parties(self.records)
        self.done.invited = len(invited)
        self.done.no_email = len(no_email)
        self.done.existing = len(existing)
        return 'done'

    def default_done(self, fields):
        return {f: getattr(self.done, f, None) for f in fields}

    @classmethod
    def invite_parties(cls, parties, url=portal_url):
        """Create the portal accounts of parties that have an e-mail and no
        account, and send them an invitation to choose their password.
        Return the lists of parties invited, without e-mail, with an
        account (or whose e-mail is someone else's account)."""
        pool = Pool()
        WebUser = pool.get('web.user')
        # Accounts are managed by the administrators: the staff creates
        # them only through this wizard
        with without_check_access():
            emails = {p: web_user_email(p.email) for p in parties}
            no_email = [p for p in parties if not emails[p]]
            candidates = [p for p in parties if emails[p]]
            users = WebUser.search(['OR',
                    ('party', 'in', [p.id for p in candidates]),
                    ('email', 'in', list({emails[p] for p in candidates})),
                    ])
            taken_parties = {u.party for u in users if u.party}
            taken_emails = {u.email for u in users}
            invited, existing = [], []
            for party in candidates:
                email = emails[party]
                if party in taken_parties or email in taken_emails:
                    existing.append(party)
                    continue
                taken_emails.add(email)
                invited.append(party)
            new_users = WebUser.create([{
                        'email': emails[p],
                        'party': p.id,
                        'email_valid': False,
                        **WebUser.portal_reset_token_values(),
                        } for p in invited])
            WebUser.portal_send_invitation(new_users, url)
        return invited, no_email, existing
