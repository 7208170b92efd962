# This file is part of bol_air_gdpr.
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def segmentation_excluded_query(cls):
        """Leave out of the profiling the people whose latest entry for the
        profiling purpose is a withdrawal (they objected)"""
        pool = Pool()
        Purpose = pool.get('bol_air.gdpr.purpose')
        Consent = pool.get('bol_air.gdpr.consent')
        query = super().segmentation_excluded_query()
        with without_check_access():
            purposes = Purpose.search([('code', '=', 'profiling')])
        if not purposes:
            return query
        opposed = Consent.current_query(
            [p.id for p in purposes], status='withdrawn')
        if query is not None:
            opposed = opposed | query
        return opposed
