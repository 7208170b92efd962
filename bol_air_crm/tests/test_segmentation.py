# This file is part of bol_air_crm.
import datetime as dt
import unittest
from decimal import Decimal

from sql import Null

from trytond.modules.account.tests import create_chart
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from .querycount import count_statements

# The customers, their host status and their invoices: (days ago, untaxed
# amount, state); a negative amount is a credit note
CUSTOMERS = {
    'A': ('host', [(10, 100), (40, 100), (100, 100), (200, 100),
            (300, 100)]),
    'B': ('none', [(20, 50), (150, 50), (400, 50)]),
    'C': ('none', [(5, 80)]),
    'D': ('none', [(500, 200), (600, 200)]),
    'E': ('none', [(60, 30), (50, -10)]),
    'F': ('none', [(90, 60), (30, 60)]),
    'G': ('none', [(1000, 300)]),
    'H': ('none', []),
    'I': ('none', [(3, 500, 'draft')]),
    }


class SegmentationMixin:
    "Customers with invoices, as the other modules' tests need them too"

    def _setup(self):
        "A company with a chart of accounts; return the company"
        company = create_company()
        create_chart(company)
        return company

    def _customers(self, company, customers, prefix=''):
        """Create the customers with their invoices, written as the
        workflow would; return {name: party}"""
        pool = Pool()
        Party = pool.get('party.party')
        Address = pool.get('party.address')
        Account = pool.get('account.account')
        Invoice = pool.get('account.invoice')
        Date = pool.get('ir.date')
        today = Date.today()
        receivable, = Account.search(
            [('type.receivable', '=', True)], limit=1)
        names = list(customers)
        parties = Party.create([{
                    'crm_customer': True, 'last_name': f"{prefix}{name}",
                    'host_status': customers[name][0],
                    } for name in names])
        addresses = Address.create([{'party': p.id} for p in parties])
        entries = [(party, address, entry)
            for party, address, name in zip(parties, addresses, names)
            for entry in customers[name][1]]
        invoices = Invoice.create([{
                    'company': company.id, 'type': 'out', 'party': party.id,
                    'invoice_address': address.id,
                    'currency': company.currency.id,
                    'account': receivable.id,
                    } for party, address, _ in entries])
        invoice = Invoice.__table__()
        cursor = Transaction().connection.cursor()
        for record, (_, _, entry) in zip(invoices, entries):
            days, amount, *state = entry
            cursor.execute(*invoice.update(
                    [invoice.state, invoice.invoice_date,
                        invoice.untaxed_amount_cache],
                    [state[0] if state else 'posted',
                        today - dt.timedelta(days=days), Decimal(amount)],
                    where=invoice.id == record.id))
        return dict(zip(names, parties))

    def _scores(self, parties):
        pool = Pool()
        Party = pool.get('party.party')
        return {name: (p.rfm_recency, p.rfm_frequency, p.rfm_monetary,
                p.segment.code if p.segment else None)
            for name, p in zip(parties, Party.browse(parties.values()))}


class SegmentationTestCase(SegmentationMixin, unittest.TestCase):
    "Test the RFM scores and the segments of the customers"

    @classmethod
    def setUpClass(cls):
        activate_module('bol_air_crm')

    @with_transaction()
    def test_same_day_buyers(self):
        "The buyers of one meeting, all the same day, are all recent"
        pool = Pool()
        Party = pool.get('party.party')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, {
                    'X': ('none', [(3, 40)]),
                    'Y': ('none', [(3, 60)]),
                    'Z': ('none', [(3, 90)]),
                    'P': ('none', []),
                    })
            Party.compute_segmentation()

            # Same date: the highest recency; the same single purchase:
            # the lowest frequency; amounts apart
            self.assertEqual(self._scores(parties), {
                    'X': (5, 1, 1, 'new'),
                    'Y': (5, 1, 3, 'new'),
                    'Z': (5, 1, 5, 'new'),
                    'P': (None, None, None, 'prospect'),
                    })

    @with_transaction()
    def test_quintiles(self):
        "By default each score splits the buyers in fifths"
        pool = Pool()
        Party = pool.get('party.party')
        Date = pool.get('ir.date')
        today = Date.today()
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, CUSTOMERS)
            Party.compute_segmentation()

            self.assertEqual(self._scores(parties), {
                    'A': (5, 5, 5, 'loyal_host'),
                    'B': (4, 5, 4, 'regular'),
                    'C': (5, 1, 2, 'new'),
                    'D': (1, 3, 5, 'to_reactivate'),
                    'E': (2, 1, 1, 'to_reactivate'),
                    'F': (3, 3, 3, 'regular'),
                    'G': (1, 1, 1, 'to_reactivate'),
                    'H': (None, None, None, 'prospect'),
                    'I': (None, None, None, 'prospect'),
                    })
            e, g, h = Party.browse(
                [parties['E'], parties['G'], parties['H']])
            # The credit note reduces the amount, it is no purchase
            self.assertEqual(
                (e.rfm_last_purchase, e.rfm_purchases, e.rfm_amount),
                (today - dt.timedelta(days=60), 1, Decimal('20.00')))
            # Bought before the 24 months of the window only
            self.assertEqual(
                (g.rfm_last_purchase, g.rfm_purchases, g.rfm_amount),
                (today - dt.timedelta(days=1000), 0, Decimal('0.00')))
            self.assertEqual(
                (h.rfm_last_purchase, h.rfm_purchases, h.rfm_amount,
                    h.rfm_date),
                (None, 0, Decimal('0.00'), today))

            # Customers are searched by segment
            self.assertEqual(
                sorted(p.last_name for p in Party.search(
                        [('segment.code', '=', 'to_reactivate')])),
                ['D', 'E', 'G'])
            self.assertEqual(
                sorted(p.last_name for p in Party.search(
                        [('rfm_frequency', '>=', 5)])),
                ['A', 'B'])

    @with_transaction()
    def test_thresholds(self):
        "Configured thresholds and window give the scores"
        pool = Pool()
        Party = pool.get('party.party')
        Configuration = pool.get('bol_air.segmentation.configuration')
        company = self._setup()
        Configuration.create([{
                    'scoring': 'thresholds',
                    'recency_5': 30, 'recency_4': 90, 'recency_3': 180,
                    'recency_2': 365,
                    'frequency_5': 5, 'frequency_4': 4, 'frequency_3': 3,
                    'frequency_2': 2,
                    'monetary_5': Decimal(400), 'monetary_4': Decimal(200),
                    'monetary_3': Decimal(100), 'monetary_2': Decimal(50),
                    }])
        with set_company(company):
            parties = self._customers(company, CUSTOMERS)
            Party.compute_segmentation()
            self.assertEqual(self._scores(parties), {
                    'A': (5, 5, 5, 'loyal_host'),
                    'B': (5, 3, 3, 'regular'),
                    'C': (5, 1, 2, 'new'),
                    'D': (1, 2, 5, 'to_reactivate'),
                    'E': (4, 1, 1, 'new'),
                    'F': (5, 2, 3, 'occasional'),
                    'G': (1, 1, 1, 'to_reactivate'),
                    'H': (None, None, None, 'prospect'),
                    'I': (None, None, None, 'prospect'),
                    })

            # A window of 12 months leaves out B's purchase of 400 days ago
            # and D's purchases
            config = Configuration(1)
            config.window_months = 12
            config.save()
            Party.compute_segmentation()
            scores = self._scores(parties)
            self.assertEqual(scores['B'], (5, 2, 3, 'occasional'))
            self.assertEqual(scores['D'], (1, 1, 1, 'to_reactivate'))

    @with_transaction()
    def test_segment_rules_order(self):
        "The first rule by sequence wins; a customer may match none"
        pool = Pool()
        Party = pool.get('party.party')
        Segment = pool.get('bol_air.segment')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, CUSTOMERS)
            occasional, = Segment.search([('code', '=', 'occasional')])
            occasional.sequence = 1
            occasional.save()
            Segment.delete(Segment.search([('code', '=', 'prospect')]))
            Party.compute_segmentation()
            scores = self._scores(parties)
            self.assertEqual(
                {n for n, s in scores.items() if s[3] == 'occasional'},
                set('ABCDEFG'))
            self.assertEqual(scores['H'][3], None)
            self.assertEqual(
                Segment.search([('code', '=', 'occasional')])[0]
                .customer_count, 7)

    @with_transaction()
    def test_no_segment(self):
        "Without any segment rule the scores are computed all the same"
        pool = Pool()
        Party = pool.get('party.party')
        Segment = pool.get('bol_air.segment')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, {
                    'C': ('none', [(5, 80)]),
                    'D': ('none', [(500, 200)]),
                    })
            Party.compute_segmentation()
            Segment.delete(Segment.search([]))
            Party.compute_segmentation()
            self.assertEqual(self._scores(parties), {
                    'C': (5, 1, 1, None),
                    'D': (1, 1, 5, None),
                    })

    @with_transaction()
    def test_only_customers(self):
        "Other parties (suppliers, employees) are neither scored nor segmented"
        pool = Pool()
        Party = pool.get('party.party')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, {'S': ('none', [(10, 90)])})
            supplier = parties['S']
            supplier.crm_customer = False
            supplier.save()
            Party.compute_segmentation()
            supplier = Party(supplier.id)
            self.assertEqual(
                (supplier.rfm_recency, supplier.rfm_purchases,
                    supplier.segment, supplier.rfm_date),
                (None, None, None, None))

    @with_transaction()
    def test_statement_count(self):
        "Computing 1 or 50 customers takes the same statements"
        pool = Pool()
        Party = pool.get('party.party')
        company = self._setup()
        with set_company(company):
            Party.compute_segmentation()
            counts = []
            for count in [1, 50]:
                self._customers(company, {
                        f'{count}-{i}': ('none', [(i + 1, 10 * (i + 1))])
                        for i in range(count)})
                with count_statements() as counter:
                    Party.compute_segmentation()
                counts.append(counter.count)
            self.assertEqual(counts[0], counts[1], counts)
            self.assertEqual(len(Party.search(
                        [('segment', '!=', None)])), 51)

    @with_transaction()
    def test_compute_wizard(self):
        "The recompute action computes the segments"
        pool = Pool()
        Compute = pool.get('bol_air.segmentation.compute', type='wizard')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, {
                    'C': ('none', [(5, 80)]),
                    'D': ('none', [(500, 200)]),
                    })
            session_id, _, _ = Compute.create()
            Compute.execute(session_id, {}, 'compute')
            Compute.delete(session_id)
            self.assertEqual(self._scores(parties), {
                    'C': (5, 1, 1, 'new'),
                    'D': (1, 1, 5, 'to_reactivate'),
                    })

    @with_transaction()
    def test_recompute_restores(self):
        "A recompute writes back any value that differs, emptied ones too"
        pool = Pool()
        Party = pool.get('party.party')
        Configuration = pool.get('bol_air.segmentation.configuration')
        Date = pool.get('ir.date')
        company = self._setup()
        with set_company(company):
            parties = self._customers(company, CUSTOMERS)
            self.assertEqual(Configuration(1).computation_date, None)
            Party.compute_segmentation()
            self.assertEqual(
                Configuration(1).computation_date, Date.today())
            expected = self._scores(parties)
            party = Party.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*party.update(
                    [party.rfm_recency, party.segment, party.rfm_amount],
                    [Null, Null, Decimal(1)],
                    where=party.id.in_(
                        [parties['A'].id, parties['H'].id])))
            cursor.execute(*party.update(
                    [party.rfm_frequency], [3],
                    where=party.id == parties['I'].id))
            Party.compute_segmentation()
            self.assertEqual(self._scores(parties), expected)
            a, h = Party.browse([parties['A'], parties['H']])
            self.assertEqual(
                (a.rfm_amount, h.rfm_amount),
                (Decimal('500.00'), Decimal('0.00')))

    @with_transaction()
    def test_read_selection_labels(self):
        "A list reads the labels of the host status and the source"
        pool = Pool()
        Party = pool.get('party.party')
        anne, berthe = Party.create([
                {'name': "Anne", 'host_status': 'host', 'source': 'phone'},
                {'name': "Berthe"},
                ])
        self.assertEqual(
            Party.read([anne.id, berthe.id],
                ['name', 'host_status:string', 'source:string']),
            [{
                    'id': anne.id, 'name': "Anne",
                    'host_status:string': "Host",
                    'source:string': "Phone",
                    }, {
                    'id': berthe.id, 'name': "Berthe",
                    'host_status:string': "Not a host",
                    'source:string': "",
                    }])
        self.assertEqual(
            Party.read([anne.id], ['host_status', 'host_status:string']),
            [{
                    'id': anne.id, 'host_status': 'host',
                    'host_status:string': "Host",
                    }])
