"""Invoicing under concurrency (issue "CRM feeds ERP"): closing the same
meeting ten times at once, or invoicing the same confirmed orders from ten
transactions at once, gives each order exactly one invoice, never a second
one and never none.

On PostgreSQL the ten calls run in parallel threads, each in its own
transaction restarted and retried the way trytond's dispatcher does it,
but until a deadline instead of 5 times, so that every call ends up
committing. On SQLite (a single writer) the same ten calls run one after
the other, each in its own transaction. The set-up data is committed
(proteus) so that every transaction sees it; the database is dropped at
the end. BOLAIR_RACE_TRIALS=n repeats each race n times (default 1: a
race takes about half a minute on PostgreSQL)."""
import datetime as dt
import os
import threading
import time
import traceback
import unittest
from collections import defaultdict
from decimal import Decimal

from proteus import Model
from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, USER, drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction, TransactionError
from trytond.worker import run_task

from bol_air_crm.tests.tools import get_ambassador, setup_crm

WORKERS = 10
TRIALS = int(os.environ.get('BOLAIR_RACE_TRIALS', 1))
# Seconds a race may last: until then a call meeting an operational error
# (serialization failure, deadlock, rows locked) is retried
TIMEOUT = 120
PARALLEL = backend.name == 'postgresql'

# Host first, then the three guests: (product, quantity)
ORDERS = [("Théière", 2), ("Assiette", 6), ("Théière", 1), ("Assiette", 3)]
# 2 × 48 + 6 × 12 + 48 + 3 × 12, tax included
ORDERS_TOTAL = Decimal('252.00')


def call(func, context, stats, deadline):
    """Run func() in a transaction until it commits, then run the queued
    tasks, as trytond's dispatcher does for a request"""
    extras = {}
    count = 0
    while True:
        if count:
            time.sleep(0.02 * min(count, 10))
        try:
            with Transaction().start(
                    DB_NAME, USER, context=context,
                    **extras) as transaction:
                try:
                    func()
                except TransactionError as e:
                    # Model.lock(): restart with the rows locked
                    transaction.rollback()
                    transaction.tasks.clear()
                    e.fix(extras)
                    stats['restarts'] += 1
                    continue
                transaction.commit()
            tasks = list(transaction.tasks)
        except backend.DatabaseOperationalError:
            # Raised by the call or, for locked rows, by start()
            if time.monotonic() > deadline:
                raise
            count += 1
            stats['retries'] += 1
            continue
        for task_id in tasks:
            run_task(DB_NAME, task_id)
        return


class InvoiceConcurrencyTestCase(unittest.TestCase):
    "Exactly one invoice per order under concurrent calls"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # A database left by an earlier test prevents the restore
        drop_db()
        cls.config = activate_modules('bol_air_crm', setup_crm)
        cls.addClassCleanup(drop_db)
        if DB_NAME not in Pool.database_list():
            with Transaction().start(DB_NAME, 0, readonly=True):
                Pool(DB_NAME).init()
        with Transaction().start(DB_NAME, USER, readonly=True):
            User = Pool().get('res.user')
            cls.context = User.get_preferences(context_only=True)

        Party = Model.get('party.party', config=cls.config)
        Product = Model.get('product.product', config=cls.config)
        cls.products = {p.name: p for p in Product.find([])}
        _, cls.ambassador = get_ambassador('maryse', config=cls.config)
        cls.parties = []
        for first_name in ["Lucie", "Anne", "Berthe", "Claire"]:
            party = Party(
                crm_customer=True, last_name="CONCURRENCE",
                first_name=first_name)
            party.save()
            cls.parties.append(party)

    def create_meeting(self):
        """Create a held meeting with a host, three guests and one draft
        order each; return the ids of the meeting and of the orders"""
        Meeting = Model.get('bol_air.meeting', config=self.config)
        Sale = Model.get('sale.sale', config=self.config)
        host, *guests = self.parties
        meeting = Meeting(
            host=host, ambassador=self.ambassador, date=dt.datetime.now())
        for guest in guests:
            meeting.guests.new(party=guest)
        meeting.save()
        meeting.click('plan')
        meeting.click('hold')
        self.assertEqual(meeting.state, 'held')
        sales = []
        for party, (product, quantity) in zip(self.parties, ORDERS):
            sale = Sale(party=party, meeting=meeting)
            line = sale.lines.new()
            line.product = self.products[product]
            line.quantity = quantity
            sales.append(sale)
        Sale.save(sales)
        return meeting.id, [s.id for s in sales]

    def confirm_without_processing(self, sale_ids):
        """Confirm the orders but drop the processing that the
        confirmation queues: they are confirmed and not invoiced yet"""
        with Transaction().start(
                DB_NAME, USER, context=self.context) as transaction:
            pool = Pool()
            Sale = pool.get('sale.sale')
            Queue = pool.get('ir.queue')
            sales = Sale.browse(sale_ids)
            Sale.quote(sales)
            Sale.confirm(sales)
            Queue.delete(Queue.browse(transaction.tasks))
            transaction.tasks.clear()
            transaction.commit()

    def race(self, func):
        """Call func WORKERS times, in parallel threads on PostgreSQL and
        one after the other on SQLite; fail if any call failed"""
        stats = [defaultdict(int) for _ in range(WORKERS)]
        errors = [None] * WORKERS
        barrier = threading.Barrier(WORKERS) if PARALLEL else None
        deadline = time.monotonic() + TIMEOUT

        def worker(i):
            try:
                if barrier:
                    barrier.wait(timeout=TIMEOUT)
                call(func, self.context, stats[i], deadline)
            except BaseException:
                errors[i] = traceback.format_exc()

        if PARALLEL:
            threads = [
                threading.Thread(target=worker, args=(i,), daemon=True)
                for i in range(WORKERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(max(deadline - time.monotonic(), 0) + 30)
            self.assertFalse(
                [t for t in threads if t.is_alive()],
                "calls still running after %s s" % TIMEOUT)
        else:
            for i in range(WORKERS):
                worker(i)
        failed = [e for e in errors if e]
        if failed:
            self.fail("%s/%s calls failed (retries: %s), first:\n%s" % (
                    len(failed), WORKERS, [dict(s) for s in stats],
                    failed[0]))

    def check_invoices(self, meeting_id, sale_ids):
        "Each order has exactly one posted invoice for its amount"
        with Transaction().start(
                DB_NAME, USER, context=self.context, readonly=True):
            pool = Pool()
            Sale = pool.get('sale.sale')
            Invoice = pool.get('account.invoice')
            InvoiceLine = pool.get('account.invoice.line')
            Link = pool.get('bol_air.sale.invoice')
            sales = Sale.browse(sale_ids)
            meeting_invoices = Invoice.search([
                    ('meeting', '=', meeting_id),
                    ])
            lines = InvoiceLine.search([
                    ('origin.sale', 'in', sale_ids, 'sale.line'),
                    ])
            invoices = defaultdict(set)
            for line in lines:
                invoices[line.origin.sale.id].add(line.invoice)

            self.assertEqual(
                sorted(i.id for i in meeting_invoices),
                sorted(i.id for s in invoices.values() for i in s))
            self.assertEqual(len(meeting_invoices), len(sales))
            self.assertEqual(
                len(lines), sum(len(s.lines) for s in sales),
                "an order line is invoiced twice")
            self.assertEqual(sum(s.total_amount for s in sales), ORDERS_TOTAL)
            for sale in sales:
                self.assertIn(sale.state, {'processing', 'done'})
                self.assertEqual(
                    len(invoices[sale.id]), 1,
                    "%s has %s invoices" % (
                        sale.rec_name, len(invoices[sale.id])))
                invoice, = invoices[sale.id]
                self.assertEqual(invoice.type, 'out')
                self.assertEqual(invoice.state, 'posted')
                self.assertEqual(invoice.total_amount, sale.total_amount)
                self.assertEqual(invoice.meeting.id, meeting_id)
                links = Link.search([('sale', '=', sale.id)])
                self.assertEqual([l.invoice for l in links], [invoice])

    def check_meeting_closed(self, meeting_id, sale_ids):
        "The meeting is closed with the reward on all its orders"
        with Transaction().start(
                DB_NAME, USER, context=self.context, readonly=True):
            pool = Pool()
            Meeting = pool.get('bol_air.meeting')
            Sale = pool.get('sale.sale')
            meeting = Meeting(meeting_id)
            total = sum(s.total_amount for s in Sale.browse(sale_ids))
            self.assertEqual(meeting.state, 'closed')
            self.assertEqual(
                sorted(s.id for s in meeting.sales), sorted(sale_ids))
            self.assertEqual(meeting.closed_sales_amount, total)
            self.assertEqual(meeting.sales_amount, total)
            self.assertEqual(
                meeting.host_reward,
                (total * Decimal('0.10')).quantize(Decimal('0.01')))

    def test_concurrent_close(self):
        "Ten closes of the same meeting give one invoice per order"
        for trial in range(TRIALS):
            with self.subTest(trial=trial):
                meeting_id, sale_ids = self.create_meeting()

                def close():
                    Meeting = Pool().get('bol_air.meeting')
                    Meeting.close([Meeting(meeting_id)])
                self.race(close)

                self.check_meeting_closed(meeting_id, sale_ids)
                self.check_invoices(meeting_id, sale_ids)

    def test_concurrent_invoice_once(self):
        "Ten invoice_once of the same confirmed orders give one invoice each"
        for trial in range(TRIALS):
            with self.subTest(trial=trial):
                meeting_id, sale_ids = self.create_meeting()
                self.confirm_without_processing(sale_ids)
                with Transaction().start(
                        DB_NAME, USER, context=self.context, readonly=True):
                    Invoice = Pool().get('account.invoice')
                    self.assertFalse(
                        Invoice.search([('meeting', '=', meeting_id)]))

                def invoice_once():
                    Sale = Pool().get('sale.sale')
                    Sale.invoice_once(Sale.browse(sale_ids))
                self.race(invoice_once)

                self.check_invoices(meeting_id, sale_ids)
