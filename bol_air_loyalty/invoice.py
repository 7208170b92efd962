# This file is part of bol_air_loyalty.
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class Invoice(metaclass=PoolMeta):
    __name__ = 'account.invoice'

    @classmethod
    def _post(cls, invoices):
        """Posting a customer invoice credits the card of its customer;
        a credit note takes the points back, and lowers the host's voucher
        when it credits a closed meeting's order."""
        pool = Pool()
        Move = pool.get('bol_air.loyalty.move')
        Voucher = pool.get('bol_air.voucher')
        super()._post(invoices)
        with without_check_access():
            invoices = cls.browse(invoices)
            Move.earn_from_invoices(invoices)
            meetings = {i.meeting for i in invoices
                if i.type == 'out' and i.meeting
                and i.meeting.state == 'closed'
                and i.total_amount < 0}
            if meetings:
                Voucher.reduce_host_rewards(list(meetings))
