# This file is part of bol_air_gdpr.
"""The pipeline of future hosts bound to the register: a person who opposed
phone prospecting (her latest entry for the purpose is a withdrawal) is
never put in a phoning list, and her leads and calls are part of her access
export."""
from trytond.i18n import gettext
from trytond.pool import Pool, PoolMeta


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def phone_prospecting_domain(cls):
        pool = Pool()
        Purpose = pool.get('bol_air.gdpr.purpose')
        return (super().phone_prospecting_domain()
            + Purpose.by_code('phone_prospecting').party_domain())

    def gdpr_access_sections(self):
        section = self.gdpr_access_section
        party = ('party', '=', self.id)
        return super().gdpr_access_sections() + [
            section(
                'host_leads', gettext('bol_air_gdpr.msg_access_host_leads'),
                'bol_air.lead', [party],
                ['date', 'source', 'referrer', 'ambassador', 'state',
                    'next_call_date', 'meeting', 'lost_reason', 'comment'],
                order=[('date', 'DESC'), ('id', 'DESC')]),
            section(
                'calls', gettext('bol_air_gdpr.msg_access_calls'),
                'bol_air.call.list.line', [party],
                ['call_list', 'outcome', 'notes'],
                order=[('call_list', 'DESC'), ('id', 'ASC')]),
            ]
