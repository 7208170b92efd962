"""Benchmark of the invoicing of orders (make bench).

1. Closing meetings of 15 orders (a host and 14 guests, 2 or 3 lines an
   order): the ambassador's "Close" button, which confirms the orders,
   invoices each exactly once and posts the invoices.
2. Invoicing confirmed orders (default 1 000) through the CRM path,
   ``Sale.invoice_once``, against as many other confirmed orders through
   plain Tryton, ``Sale.process`` then ``Invoice.post`` on their invoices,
   so both do the same work: one posted invoice per order. Same database,
   same kind of orders (a customer each, 2 lines); the CRM orders are taken
   at held meetings (15 a meeting), the plain ones have no meeting. The
   two paths run in alternate batches, the first of each pair alternating
   too. In this database the module is activated, so the "plain" path
   still goes through the module's overrides of sale.sale (e.g.
   ``_process_invoice``); it is the baseline the CRM path must stay within
   1.2 times of.

Every call runs as the server's dispatcher runs a request: in a
transaction committed inside the timing, started again when Tryton asks for
locks (Tryton 8 takes them at the start of a transaction: Sale.process
locks the orders, the invoice and move numbering their sequences, the move
creation the journal periods), then the tasks it queued run, as no queue
worker is configured (Sale.confirm and Invoice.post queue Sale.process,
Invoice.post the rendering of each invoice). The figures show how much of
the time these restarts and tasks take.

    python bench/bench_invoice.py [--orders 1000] [--backend sqlite]

The default run takes about 9 minutes on SQLite and 13 on PostgreSQL on
two cores; ``make bench BENCH_INVOICE_ARGS="--orders 100 --batches 1"``
about one.

SQLite (the default) works on a temporary file; ``--backend postgresql``
on TRYTOND_DATABASE_URI (default postgresql://postgres@127.0.0.1:5432/),
in a throw-away database. The activated database with the company, chart,
taxes and products of the tests (``setup_crm``) is cached, as by the tests,
in var/cache/<backend>-<hash of the sources>.
"""
import argparse
import cProfile
import datetime as dt
import os
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_URI = 'postgresql://postgres@127.0.0.1:5432/'


def setup_environment(backend):
    """Set before trytond is imported: it reads its configuration once.
    Return the temporary directory of the SQLite file"""
    from tests.run import sources_hash
    os.environ['DB_CACHE'] = str(
        ROOT / 'var' / 'cache' / f'{backend}-{sources_hash()}')
    if backend == 'sqlite':
        os.environ['TRYTOND_DATABASE_URI'] = 'sqlite://'
        tmp = tempfile.mkdtemp(prefix='bench-invoice-')
        # A file, not :memory:, to pay for the writes as a server would
        os.environ['TRYTOND_DATABASE__PATH'] = tmp
        os.environ['DB_NAME'] = 'bench_invoice'
        return tmp
    uri = os.environ.get('TRYTOND_DATABASE_URI', '')
    if not uri.startswith('postgresql'):
        os.environ['TRYTOND_DATABASE_URI'] = PG_URI
    os.environ['DB_NAME'] = f'bench_invoice_{os.getpid()}'
    return None


class Timing:
    "The seconds of requests, as the dispatcher runs them"

    def __init__(self):
        self.total = 0.0
        self.retried = 0.0  # attempts started again to take locks
        self.tasks = 0.0  # queued tasks run after the commit
        self.requests = 0
        self.attempts = 0
        self.task_names = {}  # seconds of the queued tasks by method

    @property
    def final(self):
        "The attempts that went through, commit included"
        return self.total - self.retried - self.tasks

    def add(self, other):
        for name in ['total', 'retried', 'tasks', 'requests', 'attempts']:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name, seconds in other.task_names.items():
            self.task_names[name] = self.task_names.get(name, 0) + seconds

    def detail(self):
        return (f"{self.attempts} essais pour {self.requests} requête(s) : "
            f"{self.retried:.1f} s d'essais recommencés pour prendre les "
            f"verrous, {self.final:.1f} s d'essais aboutis, "
            f"{self.tasks:.1f} s de tâches en file"
            + (" (" + ", ".join(f"{name} {seconds:.1f} s"
                    for name, seconds in sorted(self.task_names.items()))
                + ")" if self.task_names else ""))


class Bench:
    "Model API helpers on the benchmark database"

    def __init__(self, db_name):
        from trytond.pool import Pool
        from trytond.transaction import Transaction
        self.db_name = db_name
        self.Transaction = Transaction
        with Transaction().start(db_name, 0):
            pool = Pool()
            User = pool.get('res.user')
            Product = pool.get('product.product')
            Employee = pool.get('company.employee')
            with Transaction().set_user(1):
                self.context = User.get_preferences(context_only=True)
            with Transaction().set_context(self.context):
                plate, = Product.search([('name', '=', "Assiette")])
                teapot, = Product.search([('name', '=', "Théière")])
                self.products = [
                    self._line_values(p) for p in [plate, teapot]]
                maryse, = User.search([('login', '=', 'maryse')])
                self.maryse = maryse.id
                self.maryse_employee, = [
                    e.id for e in Employee.search([
                            ('party.name', '=', "Maryse Brun")])]
            with Transaction().set_user(self.maryse):
                self.maryse_context = User.get_preferences(
                    context_only=True)
        self.serial = 0

    @staticmethod
    def _line_values(product):
        return {
            'type': 'line',
            'product': product.id,
            'unit': product.sale_uom.id,
            'unit_price': product.list_price_used,
            'taxes': [('add', [t.id for t in product.customer_taxes_used])],
            }

    def transaction(self, user=1, context=None, **extras):
        return self.Transaction().start(
            self.db_name, user, context=context or self.context, **extras)

    def task_name(self, task_id):
        "The model and method a queued task calls"
        from trytond.pool import Pool
        with self.transaction(0, {}):
            task = Pool().get('ir.queue')(task_id)
            return f"{task.data['model']}.{task.data['method']}"

    def request(self, func, *args, user=1, context=None, check_access=False,
            profiler=None):
        """Run func(*args) as trytond.protocols.dispatcher runs a request:
        in a transaction started again, with the locks it asks for, on
        TransactionError (its queued tasks dropped), committed, then the
        queued tasks run. Return its Timing."""
        from trytond.transaction import Transaction, TransactionError
        from trytond.transaction import check_access as access
        from trytond.worker import run_task
        timing = Timing()
        timing.requests = 1
        extras = {}
        if profiler:
            profiler.enable()
        start = time.perf_counter()
        try:
            while True:
                attempt = time.perf_counter()
                timing.attempts += 1
                with self.transaction(user, context, **extras) as transaction:
                    try:
                        with access(_access=check_access):
                            func(*args)
                    except TransactionError as exception:
                        transaction.rollback()
                        transaction.tasks.clear()
                        exception.fix(extras)
                        timing.retried += time.perf_counter() - attempt
                        continue
                    transaction.commit()
                    break
            tasks = time.perf_counter()
            while Transaction().tasks:
                task_id = Transaction().tasks.pop()
                name = self.task_name(task_id)
                task = time.perf_counter()
                run_task(self.db_name, task_id)
                timing.task_names[name] = (timing.task_names.get(name, 0)
                    + time.perf_counter() - task)
            timing.tasks = time.perf_counter() - tasks
        finally:
            if profiler:
                profiler.disable()
        timing.total = time.perf_counter() - start
        return timing

    def create_parties(self, count):
        from trytond.pool import Pool
        Party = Pool().get('party.party')
        values = []
        for _ in range(count):
            self.serial += 1
            values.append({
                    'crm_customer': True,
                    'last_name': f"CLIENT-{self.serial}",
                    'first_name': "Anne",
                    'name': f"CLIENT-{self.serial} Anne",
                    'addresses': [('create', [{
                                    'street': f"{self.serial} rue Haute",
                                    'postal_code': "87000",
                                    'city': "Limoges",
                                    }])],
                    })
        return Party.create(values)

    def create_orders(self, parties, meeting=None, lines=2):
        "One draft order a party, of `lines` lines (2 or 3)"
        from trytond.pool import Pool
        Sale = Pool().get('sale.sale')
        values = []
        for i, party in enumerate(parties):
            address = party.addresses[0].id
            order_lines = [
                dict(self.products[0], quantity=float(1 + i % 6)),
                dict(self.products[1], quantity=1.0),
                ]
            if lines > 2 and i % 2:
                order_lines.append(dict(self.products[0], quantity=2.0))
            values.append({
                    'party': party.id,
                    'invoice_address': address,
                    'shipment_address': address,
                    'meeting': meeting.id if meeting else None,
                    'lines': [('create', order_lines)],
                    })
        return Sale.create(values)

    def create_meeting(self, buyers=15, lines=3):
        """A held meeting of Maryse with a host and buyers - 1 guests, each
        with a draft order"""
        from trytond.pool import Pool
        Meeting = Pool().get('bol_air.meeting')
        host, *guests = self.create_parties(buyers)
        meeting, = Meeting.create([{
                    'host': host.id,
                    'ambassador': self.maryse_employee,
                    'date': dt.datetime.now() - dt.timedelta(hours=3),
                    'guests': [('create', [
                                {'party': g.id, 'attended': True}
                                for g in guests])],
                    }])
        Meeting.plan([meeting])
        Meeting.hold([meeting])
        sales = self.create_orders([host, *guests], meeting, lines=lines)
        return meeting, sales


def confirm_without_processing(sales):
    """Quote and confirm the orders with the real Sale.confirm, which
    queues their processing (Sale.__queue__.process). The dispatcher would
    run that task after the commit; here the queued task is deleted instead
    and the orders stay confirmed, not processed (as with a queue worker
    that has not reached them yet): the benchmark processes them itself."""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Sale = pool.get('sale.sale')
    Queue = pool.get('ir.queue')
    Sale.quote(sales)
    Sale.confirm(sales)
    transaction = Transaction()
    tasks = list(transaction.tasks)
    transaction.tasks.clear()
    Queue.delete(Queue.browse(tasks))
    assert all(s.state == 'confirmed' for s in Sale.browse(sales))


def close_meeting(meeting_id):
    from trytond.pool import Pool
    Meeting = Pool().get('bol_air.meeting')
    Meeting.close(Meeting.browse([meeting_id]))


def bench_meeting_close(bench, count, profiler=None):
    """Close `count` meetings of 15 orders one by one, each by its
    ambassador with her access rights. Return the Timing of each."""
    from trytond.pool import Pool
    meetings = []
    with bench.transaction() as transaction:
        for _ in range(count):
            meeting, sales = bench.create_meeting()
            meetings.append((meeting.id, [s.id for s in sales]))
        transaction.commit()

    timings = []
    for meeting_id, _ in meetings:
        timings.append(bench.request(
                close_meeting, meeting_id, user=bench.maryse,
                context=bench.maryse_context, check_access=True,
                profiler=profiler))

    with bench.transaction():
        pool = Pool()
        Meeting = pool.get('bol_air.meeting')
        Invoice = pool.get('account.invoice')
        for meeting_id, sale_ids in meetings:
            assert Meeting(meeting_id).state == 'closed'
            invoices = Invoice.search([('meeting', '=', meeting_id)])
            assert len(invoices) == len(sale_ids) == 15, len(invoices)
            assert {i.state for i in invoices} == {'posted'}
    return timings


def prepare_orders(bench, count):
    """Create `count` CRM orders (at held meetings of 15 buyers) and
    `count` plain orders (no meeting), all confirmed, not processed.
    Return the ids of both."""
    from trytond.pool import Pool
    crm = []
    with bench.transaction() as transaction:
        Sale = Pool().get('sale.sale')
        while len(crm) < count:
            _, sales = bench.create_meeting(
                buyers=min(15, count - len(crm)), lines=2)
            crm.extend(sales)
        plain = []
        # By 100: SQLite refuses the expression trees of larger batches
        for start in range(0, count, 100):
            plain.extend(bench.create_orders(
                    bench.create_parties(min(100, count - start))))
        for start in range(0, count, 100):
            confirm_without_processing(Sale.browse(
                    crm[start:start + 100] + plain[start:start + 100]))
        transaction.commit()
        return [s.id for s in crm], [s.id for s in plain]


def crm_path(sale_ids):
    from trytond.pool import Pool
    Sale = Pool().get('sale.sale')
    Sale.invoice_once(Sale.browse(sale_ids))


def plain_path(sale_ids):
    from trytond.pool import Pool
    pool = Pool()
    Sale = pool.get('sale.sale')
    Invoice = pool.get('account.invoice')
    Sale.process(Sale.browse(sale_ids))
    invoices = [i for s in Sale.browse(sale_ids) for i in s.invoices]
    Invoice.post(invoices)


def bench_invoicing(bench, crm, plain, batches, profile=None):
    "Return the Timing of each path over alternate batches"
    size = -(-len(crm) // batches)
    paths = {'crm': (crm_path, crm), 'plain': (plain_path, plain)}
    timings = {'crm': Timing(), 'plain': Timing()}
    for i in range(batches):
        names = ['crm', 'plain'] if i % 2 == 0 else ['plain', 'crm']
        batch_timings = {}
        for name in names:
            func, ids = paths[name]
            batch = ids[i * size:(i + 1) * size]
            if batch:
                batch_timings[name] = timing = bench.request(
                    func, batch, profiler=profile[name] if profile else None)
                timings[name].add(timing)
        print(f"  lot {i + 1}/{batches} de {size} : " + ", ".join(
                f"{name} {timing.total:.1f} s ({timing.attempts} essais, "
                f"{timing.retried:.1f} + {timing.final:.1f} + "
                f"{timing.tasks:.1f} s)"
                for name, timing in batch_timings.items()), flush=True)
    return timings


def check_invoiced(bench, sale_ids):
    "Each order has exactly one posted invoice for its amount"
    from trytond.pool import Pool
    with bench.transaction():
        Sale = Pool().get('sale.sale')
        for sale in Sale.browse(sale_ids):
            invoices = sale.invoices
            assert len(invoices) == 1, (sale.id, invoices)
            invoice, = invoices
            assert invoice.state == 'posted', invoice.state
            assert invoice.total_amount == sale.total_amount
            assert sale.state == 'processing', sale.state


def print_profile(profiler, title, limit=25):
    print(f"==== Profil : {title} ====")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats('cumulative')
    stats.print_stats(r'bol_air_crm|modules/(sale|account_invoice)/', limit)
    stats.sort_stats('tottime')
    stats.print_stats(limit)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--orders', type=int, default=1000,
        help="orders invoiced by each path (default: 1000)")
    parser.add_argument('--batches', type=int, default=10,
        help="alternate batches of each path (default: 10)")
    parser.add_argument('--meetings', type=int, default=3,
        help="meetings of 15 orders closed one by one (default: 3)")
    parser.add_argument('--backend', choices=['sqlite', 'postgresql'],
        default='sqlite',
        help="postgresql uses TRYTOND_DATABASE_URI, by default " + PG_URI)
    parser.add_argument('--profile', action='store_true',
        help="print a cProfile of the closings and of both paths")
    args = parser.parse_args()

    tmp = setup_environment(args.backend)
    from trytond.tests.test_tryton import DB_NAME, drop_db
    from trytond.tests.tools import activate_modules

    from bol_air_crm.tests.tools import setup_crm

    start = time.perf_counter()
    try:
        activate_modules('bol_air_crm', setup_crm)
        uri = os.environ['TRYTOND_DATABASE_URI']
        print(f"Base {args.backend} ({uri.split('@')[-1]} {DB_NAME}) prête "
            f"en {time.perf_counter() - start:.0f} s ({sys.argv[0]})",
            flush=True)
        bench = Bench(DB_NAME)

        profiler = cProfile.Profile() if args.profile else None
        timings = bench_meeting_close(bench, args.meetings, profiler=profiler)
        print("Clôture d'une réunion de 15 commandes (confirmation, 15 "
            "factures comptabilisées), par l'ambassadrice : "
            + ", ".join(f"{t.total:.1f} s" for t in timings)
            + f" (max {max(t.total for t in timings):.1f} s, objectif "
            "≤ 5 s)", flush=True)
        for timing in timings:
            print(f"  {timing.total:.1f} s = {timing.detail()}")
        if profiler:
            print_profile(profiler, "clôtures")

        prepare = time.perf_counter()
        crm, plain = prepare_orders(bench, args.orders)
        print(f"{len(crm)} + {len(plain)} commandes confirmées préparées en "
            f"{time.perf_counter() - prepare:.0f} s", flush=True)

        profile = None
        if args.profile:
            profile = {'crm': cProfile.Profile(), 'plain': cProfile.Profile()}
        timings = bench_invoicing(
            bench, crm, plain, args.batches, profile=profile)
        check_invoiced(bench, crm)
        check_invoiced(bench, plain)

        for name, label in [
                ('crm', "CRM Sale.invoice_once"),
                ('plain', "Tryton Sale.process + Invoice.post")]:
            timing = timings[name]
            print(f"{label} : {timing.total:.1f} s pour {args.orders} "
                f"commandes, {args.orders / timing.total:.1f} commandes/s "
                f"({timing.detail()})", flush=True)
        crm, plain = timings['crm'], timings['plain']
        print(f"Rapport CRM / Tryton : {crm.total / plain.total:.2f} "
            f"(objectif ≤ 1.2 ; essais aboutis seuls : "
            f"{crm.final / plain.final:.2f})")
        print(f"1 000 commandes par le CRM : "
            f"{crm.total / args.orders * 1000:.0f} s (objectif ≤ 300 s)")
        if profile:
            for name in ['crm', 'plain']:
                print_profile(profile[name], name)
    finally:
        drop_db()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"Durée totale : {time.perf_counter() - start:.0f} s")


if __name__ == '__main__':
    main()
