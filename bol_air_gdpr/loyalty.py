# This file is part of bol_air_gdpr.
"""The loyalty programme's part of the access export, when bol_air_loyalty
is activated: the card, its points ledger, the vouchers (with their codes:
they are the person's own) and what orders took from them."""
from trytond.i18n import gettext
from trytond.pool import PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    def gdpr_access_sections(self):
        section = self.gdpr_access_section
        party = ('party', '=', self.id)
        return super().gdpr_access_sections() + [
            section(
                'loyalty_cards',
                gettext('bol_air_gdpr.msg_access_loyalty_cards'),
                'bol_air.loyalty.account', [party],
                ['number', 'join_date', 'balance', 'active', 'create_date']),
            section(
                'loyalty_moves',
                gettext('bol_air_gdpr.msg_access_loyalty_moves'),
                'bol_air.loyalty.move', [('account.party', '=', self.id)],
                ['date', 'account', 'kind', 'points', 'unrecovered',
                    'origin', 'reason']),
            section(
                'vouchers', gettext('bol_air_gdpr.msg_access_vouchers'),
                'bol_air.voucher', [party],
                ['code', 'kind', 'amount', 'remaining', 'shortfall',
                    'issue_date', 'expiry_date', 'state', 'origin',
                    'reason']),
            section(
                'voucher_uses',
                gettext('bol_air_gdpr.msg_access_voucher_uses'),
                'bol_air.voucher.use', [('voucher.party', '=', self.id)],
                ['date', 'voucher', 'sale', 'amount'],
                order=[('date', 'DESC'), ('id', 'DESC')]),
            ]
