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
race takes about half a minute on PostgreSQL).

The same database also holds the statement-count tests of the batch
pieces of the feature (repo rule: batch code keeps its SQL statement
count flat in N): reading the amounts of closed meetings, the
reconciliation of a period and the recording of the order-invoice links
send as many statements for 1 record as for many."""
import datetime as dt
import os
import re
import threading
import time
import traceback
import unittest
from collections import Counter, defaultdict
from contextlib import contextmanager
from decimal import Decimal

from proteus import Model
from trytond import backend
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, USER, drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction

from bol_air_crm.reconciliation import reconcile
from bol_air_crm.tests.querycount import count_statements
from bol_air_crm.tests.tools import get_ambassador, setup_crm

from .dispatch import call

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
# Tax-included amount of each of these orders
ORDER_AMOUNTS = [Decimal(a) for a in ['96.00', '72.00', '48.00', '36.00']]


# Statement-count fixture: the meetings of each set, the days before today
# of their orders and, per meeting, the orders (indexes in ORDERS) whose
# invoice is credited by a posted credit note
STATEMENT_SETS = {
    'warm_up': [(40, [1])],
    'one': [(30, [1])],
    'six': [(25, [1]), (24, [3]), (23, [1, 2]), (22, [0]), (21, []), (20, [])],
    }
MEETING_AMOUNT_FIELDS = [
    'sales_amount', 'host_reward', 'credited_amount', 'invoices']


class _LoggingCursor:
    def __init__(self, cursor, log):
        self._cursor = cursor
        self._log = log

    def execute(self, query, *args, **kwargs):
        self._log.append(str(query))
        return self._cursor.execute(query, *args, **kwargs)

    def executemany(self, query, *args, **kwargs):
        self._log.append(str(query))
        return self._cursor.executemany(query, *args, **kwargs)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class _LoggingConnection:
    def __init__(self, connection):
        self._connection = connection
        self.log = []

    def cursor(self, *args, **kwargs):
        return _LoggingCursor(
            self._connection.cursor(*args, **kwargs), self.log)

    def __getattr__(self, name):
        return getattr(self._connection, name)


@contextmanager
def log_statements():
    "Keep the SQL of the statements sent, to explain a count that grows"
    transaction = Transaction()
    connection = transaction.connection
    logger = _LoggingConnection(connection)
    transaction.connection = logger
    try:
        yield logger.log
    finally:
        transaction.connection = connection


def statement_template(query):
    "The statement without its parameters (nor the length of their lists)"
    return re.sub(
        r'(%s|\?)(\s*,\s*(%s|\?))*', '…', ' '.join(query.split()))


def statement_summary(template):
    "The template shortened for a message: without the selected columns"
    return re.sub(r'^SELECT .*? FROM ', 'SELECT … FROM ', template)[:300]


class InvoiceConcurrencyTestCase(unittest.TestCase):
    """Exactly one invoice per order under concurrent calls; the batch
    pieces of the invoicing send as many statements for 1 as for N"""

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

    # Statement counts of the batch pieces (flat in N)

    def commit(self, func, extras=None):
        """Run func() in a committed transaction, dropping the tasks it
        queues (the processing of orders already processed by
        invoice_once, the rendering of the invoices): they change nothing
        that is counted here and would double the set-up time"""
        def func_without_tasks():
            func()
            transaction = Transaction()
            Queue = Pool().get('ir.queue')
            Queue.delete(Queue.browse(transaction.tasks))
            transaction.tasks.clear()
        call(func_without_tasks, self.context, defaultdict(int),
            time.monotonic() + TIMEOUT, extras=extras)

    def statement_fixture(self):
        """Build once the closed meetings of STATEMENT_SETS, each with its
        four invoiced orders dated in the past (their own period) and the
        posted credit notes; return per set a list of dicts: meeting,
        sales, date, invoices (one per order, in ORDERS order),
        credit_notes and credited (tax-included total)"""
        cls = self.__class__
        if getattr(cls, '_statement_fixture', None):
            return cls._statement_fixture
        today = dt.date.today()
        # One meeting by the shared helper, copied for the others: the
        # helper goes through proteus and the client's on_change calls
        template_id, template_sale_ids = self.create_meeting()
        specs = [(name, days, credited)
            for name, meetings in STATEMENT_SETS.items()
            for days, credited in meetings]
        fixture = []

        def create():
            pool = Pool()
            Meeting = pool.get('bol_air.meeting')
            Sale = pool.get('sale.sale')
            template = Meeting(template_id)
            template_sales = Sale.browse(template_sale_ids)
            fixture.clear()
            for i, (name, days, credited) in enumerate(specs):
                date = today - dt.timedelta(days=days)
                if i == 0:
                    meeting, sales = template, template_sales
                    Sale.write(sales, {'sale_date': date})
                else:
                    meeting, = Meeting.copy([template], default={
                            'state': 'draft',
                            'date': dt.datetime.combine(
                                date, dt.time(19)),
                            })
                    Meeting.plan([meeting])
                    Meeting.hold([meeting])
                    sales = Sale.copy(template_sales, default={
                            'meeting': meeting.id,
                            'sale_date': date,
                            })
                fixture.append({
                        'set': name, 'meeting': meeting.id,
                        'sales': [s.id for s in sales], 'date': date,
                        'credit': credited,
                        })
        self.commit(create)

        def close(meetings):
            def func():
                Meeting = Pool().get('bol_air.meeting')
                Meeting.close(Meeting.browse([m['meeting'] for m in meetings]))
            return func
        # Posting restarts the transaction to lock the sequences and the
        # journal periods: learn these locks on the first meeting alone,
        # take them at once for the others and for the credit notes
        extras = {}
        self.commit(close(fixture[:1]), extras)
        self.commit(close(fixture[1:]), extras)

        def credit():
            pool = Pool()
            Invoice = pool.get('account.invoice')
            Link = pool.get('bol_air.sale.invoice')
            to_credit = []
            for meeting in fixture:
                links = {l.sale.id: l.invoice for l in Link.search([
                            ('sale', 'in', meeting['sales']),
                            ])}
                meeting['invoices'] = [
                    links[s].id for s in meeting['sales']]
                to_credit.extend(
                    links[meeting['sales'][i]] for i in meeting['credit'])
            credit_notes = Invoice.credit(to_credit)
            Invoice.post(credit_notes)
            credit_notes = iter(credit_notes)
            for meeting in fixture:
                notes = [next(credit_notes) for _ in meeting['credit']]
                meeting['credit_notes'] = [n.id for n in notes]
                meeting['credited'] = -sum(
                    (n.total_amount for n in notes), Decimal(0))
        self.commit(credit, extras)

        cls._statement_fixture = result = defaultdict(list)
        for meeting in fixture:
            result[meeting['set']].append(meeting)
        return result

    def count(self, func, readonly=True):
        """Return the number of statements func() sends in a new
        transaction (rolled back), the statements and func's result"""
        with Transaction().start(
                DB_NAME, USER, context=self.context, readonly=readonly):
            with count_statements() as counter, log_statements() as log:
                result = func()
        return counter.count, log, result

    def assertFlat(self, func, small, large):
        """func(records) sends as many statements for the small as for the
        large set, each in a new transaction (call it after a warm-up);
        return the results for small and large. On failure, list the
        statements sent more often for the large set."""
        counts, logs, results = [], [], []
        for records in [small, large]:
            count, log, result = self.count(lambda: func(records))
            counts.append(count)
            logs.append(log)
            results.append(result)
        if counts[0] != counts[1]:
            more = Counter(map(statement_template, logs[1]))
            more.subtract(map(statement_template, logs[0]))
            self.fail("%s statements for %s records, %s for %s:\n%s" % (
                    counts[0], len(small), counts[1], len(large),
                    '\n'.join('%+d × %s' % (n, statement_summary(q))
                        for q, n in more.most_common() if n)))
        return results

    def test_statement_count_meeting_amounts(self):
        "Reading the amounts of 1 or 6 closed meetings: same statements"
        fixture = self.statement_fixture()
        with Transaction().start(
                DB_NAME, USER, context=self.context, readonly=True):
            Meeting = Pool().get('bol_air.meeting')
            for meeting in Meeting.browse(
                    [m['meeting'] for s in fixture.values() for m in s]):
                self.assertEqual(meeting.state, 'closed')
                self.assertEqual(meeting.closed_sales_amount, ORDERS_TOTAL)
                self.assertEqual(meeting.reward_rate, Decimal('0.10'))
                self.assertTrue(meeting.reward_includes_host)

        def read(meetings):
            Meeting = Pool().get('bol_air.meeting')
            return Meeting.read(
                [m['meeting'] for m in meetings], MEETING_AMOUNT_FIELDS)

        self.assertEqual(len(fixture['six']), 6)
        self.assertTrue(all(m['credit'] for m in fixture['one']))
        # The warm-up takes the same path: its meeting has a credit note
        self.assertTrue(all(m['credit'] for m in fixture['warm_up']))
        self.count(lambda: read(fixture['warm_up']))
        results = self.assertFlat(read, fixture['one'], fixture['six'])

        for meetings, rows in zip([fixture['one'], fixture['six']], results):
            rows = {r['id']: r for r in rows}
            self.assertEqual(len(rows), len(meetings))
            for meeting in meetings:
                row = rows[meeting['meeting']]
                credited = sum(
                    (ORDER_AMOUNTS[i] for i in meeting['credit']),
                    Decimal(0))
                self.assertEqual(meeting['credited'], credited)
                self.assertEqual(row['credited_amount'], credited)
                self.assertEqual(
                    row['sales_amount'], ORDERS_TOTAL - credited)
                self.assertEqual(
                    row['host_reward'],
                    ((ORDERS_TOTAL - credited) * Decimal('0.10')).quantize(
                        Decimal('0.01')))
                self.assertEqual(
                    sorted(row['invoices']),
                    sorted(meeting['invoices'] + meeting['credit_notes']))
        # Spot check: a 72.00 credit note lowers the reward from 25.20
        row = {r['id']: r for r in results[1]}[
            fixture['six'][0]['meeting']]
        self.assertEqual(row['host_reward'], Decimal('18.00'))

    def test_statement_count_reconcile(self):
        "Reconciling a period of 1 or 6 meetings' orders: same statements"
        fixture = self.statement_fixture()

        def report(meetings):
            Company = Pool().get('company.company')
            dates = [m['date'] for m in meetings]
            return reconcile(
                Company(self.context['company']), min(dates), max(dates))

        self.count(lambda: report(fixture['warm_up']))
        results = self.assertFlat(report, fixture['one'], fixture['six'])
        for meetings, result in zip(
                [fixture['one'], fixture['six']], results):
            self.assertEqual(
                sorted(o.id for o in result['orders']),
                sorted(s for m in meetings for s in m['sales']))
            self.assertEqual(
                result['orders_total'], ORDERS_TOTAL * len(meetings))
            self.assertEqual(result['orders_total'], result['invoices_total'])
            self.assertEqual(result['uninvoiced'], [])
            self.assertEqual(result['foreign'], [])

    def test_statement_count_sale_invoice_record(self):
        "Recording the invoices of 1 or 20 invoiced orders: same statements"
        fixture = self.statement_fixture()
        sale_ids = {
            name: [s for m in meetings for s in m['sales']]
            for name, meetings in fixture.items()}
        invoice_ids = {
            name: [i for m in meetings for i in m['invoices']]
            for name, meetings in fixture.items()}

        def record(sales):
            pool = Pool()
            Sale = pool.get('sale.sale')
            Link = pool.get('bol_air.sale.invoice')
            Link.record(Sale.browse(sales))
            return sales

        # Read-only: already invoiced orders get no new link
        self.count(lambda: record(sale_ids['warm_up'][:1]))
        self.assertFlat(record, sale_ids['one'][:1], sale_ids['six'][:20])
        with Transaction().start(
                DB_NAME, USER, context=self.context, readonly=True):
            Link = Pool().get('bol_air.sale.invoice')
            links = Link.search([('sale', 'in', sale_ids['six'][:20])])
            self.assertEqual(
                sorted((l.sale.id, l.invoice.id) for l in links),
                sorted(zip(sale_ids['six'][:20], invoice_ids['six'][:20])))
