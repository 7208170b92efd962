# This file is part of bol_air_gdpr.
import datetime as dt
import unittest

from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction

from bol_air_crm.tests.test_segmentation import SegmentationMixin


class ProfilingOppositionTestCase(SegmentationMixin, unittest.TestCase):
    "People who object to profiling get no scores and no segment"

    @classmethod
    def setUpClass(cls):
        activate_module('bol_air_gdpr')

    def _consent(self, party, status, date):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        purpose = Purpose.by_code('profiling')
        Consent.create([{
                    'party': party.id, 'purpose': purpose.id,
                    'status': status, 'channel': 'paper',
                    'text_version': (
                        purpose.current_text.id if status == 'given'
                        else None),
                    'date': dt.datetime.combine(date, dt.time(10)),
                    }])

    @with_transaction()
    def test_profiling_opposition(self):
        "The latest profiling entry being a withdrawal leaves the person out"
        pool = Pool()
        Party = pool.get('party.party')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, {
                    'OPPOSED': ('none', [(5, 80)]),
                    'BACK': ('none', [(10, 50)]),
                    'SILENT': ('none', [(300, 20)]),
                    })
            Party.compute_segmentation()
            self.assertEqual(
                self._scores(parties)['OPPOSED'], (5, 1, 5, 'new'))

            self._consent(parties['OPPOSED'], 'given', dt.date(2026, 1, 5))
            self._consent(
                parties['OPPOSED'], 'withdrawn', dt.date(2026, 2, 5))
            self._consent(parties['BACK'], 'withdrawn', dt.date(2026, 1, 5))
            self._consent(parties['BACK'], 'given', dt.date(2026, 2, 5))
            Party.compute_segmentation()

            # Her earlier scores are emptied; the others are ranked
            # without her
            self.assertEqual(self._scores(parties), {
                    'OPPOSED': (None, None, None, None),
                    'BACK': (5, 1, 5, 'new'),
                    'SILENT': (1, 1, 1, 'to_reactivate'),
                    })
            opposed = Party(parties['OPPOSED'].id)
            self.assertEqual(
                (opposed.rfm_last_purchase, opposed.rfm_purchases,
                    opposed.rfm_amount),
                (None, None, None))
            self.assertEqual(
                Party.search([('segment', '=', None),
                        ('crm_customer', '=', True)]),
                [opposed])
