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

    def _consent(self, party, status, date, code='profiling'):
        pool = Pool()
        Consent = pool.get('bol_air.gdpr.consent')
        Purpose = pool.get('bol_air.gdpr.purpose')
        purpose = Purpose.by_code(code)
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

    @with_transaction()
    def test_target_list_of_segment(self):
        "A newsletter list of a segment keeps its consenting customers only"
        pool = Pool()
        Party = pool.get('party.party')
        Purpose = pool.get('bol_air.gdpr.purpose')
        Segment = pool.get('bol_air.segment')
        TargetList = pool.get('bol_air.target.list')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, {
                    'NEW_YES': ('none', [(5, 80)]),
                    'NEW_NO': ('none', [(8, 70)]),
                    'OLD_YES': ('none', [(300, 20)]),
                    })
            for code in ['NEW_YES', 'OLD_YES']:
                self._consent(
                    parties[code], 'given', dt.date(2026, 1, 5),
                    code='newsletter')
            new, = Segment.search([('code', '=', 'new')])
            old, = Segment.search([('code', '=', 'to_reactivate')])
            # As the segmentation leaves them (computing it is tested above)
            Party.write(
                [parties['NEW_YES'], parties['NEW_NO']], {'segment': new.id},
                [parties['OLD_YES']], {'segment': old.id})
            target, = TargetList.create([{
                        'name': "Bienvenue",
                        'purpose': Purpose.by_code('newsletter').id,
                        'segment': new.id,
                        }])
            TargetList.fill([target])

            self.assertEqual(
                [m.party for m in target.members], [parties['NEW_YES']])
            self.assertEqual(target.excluded_count, 1)
