# This file is part of bol_air_loyalty.
from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class Meeting(metaclass=PoolMeta):
    __name__ = 'bol_air.meeting'

    host_voucher = fields.Function(
        fields.Many2One('bol_air.voucher', "Host Voucher"),
        'get_host_voucher')

    @classmethod
    @ModelView.button
    @Workflow.transition('closed')
    def close(cls, meetings):
        """Closing issues the host's reward as a voucher, once, and rewards
        who brought the host to her first meeting"""
        pool = Pool()
        Voucher = pool.get('bol_air.voucher')
        Account = pool.get('bol_air.loyalty.account')
        super().close(meetings)
        with without_check_access():
            meetings = cls.browse(meetings)
            Voucher.reward_hosts(meetings)
            Account.award_referrals(meetings)

    @classmethod
    def get_host_voucher(cls, meetings, name):
        pool = Pool()
        Voucher = pool.get('bol_air.voucher')
        result = dict.fromkeys([m.id for m in meetings])
        with without_check_access():
            for voucher in Voucher.search([
                        ('kind', '=', 'host_reward'),
                        ('origin', 'in', [str(m) for m in meetings]),
                        ]):
                result[voucher.origin.id] = voucher.id
        return result
