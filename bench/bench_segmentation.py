"""Benchmark of the customer segmentation (make bench).

Fills a database with N customers (default 100 000) and about eleven
invoice lines each (1 100 000 lines by default: 2 to 10 posted invoices of
2 lines a customer, dated over the last 3 years, one customer in seven
without any, one in 25 with a cancelled invoice),
copied in bulk, in SQL, from a customer and an invoice made through the
models. One customer in ten objected to profiling (bol_air_gdpr).

Then it prints, each run as the server runs a request (transaction,
commit):
- the computation of the RFM scores and segments of every customer
  (``Party.compute_segmentation``, the daily job and the "Compute Segments"
  action), median of 3 (target ≤ 10 s on PostgreSQL);
- the customer list (CRM › Customers, tab "All") of 1 000 rows requested as
  the web client (sao 8.0) requests it, with the access rules: the search
  of the ids, the count of the rows (the page is full), then a ``read``
  of the list view's fields (shown or optional: the client loads them all,
  with rec_name of the Many2One and the labels of the selections) by
  batches of 1 000 / min(fields, 10) rows; median of 5 of the total
  (target ≤ 0.2 s) and of the opening alone (search, count, first read:
  sao shows the first 20 rows and loads their batch only, the other
  reads come as the user shows more rows), and the statement count of a
  read of 10 rows and of a batch (the same); for comparison, the 1 000
  rows in one ``search_read``;
- the profile of the list's slowest functions with ``--profile``.

    python bench/bench_segmentation.py [--customers 100000] [--backend sqlite]

SQLite (the default) works on a temporary file; ``--backend postgresql``
on TRYTOND_DATABASE_URI (default postgresql://postgres@127.0.0.1:5432/), in
a throw-away database.
"""
import argparse
import cProfile
import os
import pstats
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_gdpr import (  # noqa: E402
    PREFIX, clone_rows, columns_of, insert_parties, person)
from bench_invoice import (  # noqa: E402
    PG_URI, Bench, confirm_without_processing, setup_environment)

INVOICES = 10  # at most, a customer
LINES = 2  # an invoice


def prepare_template(bench):
    "A customer with a confirmed order of 2 lines; return their ids"
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    target = person("MODELE", 'modele@example.com')
    Party.write([target], {'ambassador': bench.maryse_employee})
    sales = bench.create_orders([target], lines=LINES)
    confirm_without_processing(sales)
    return target.id, [s.id for s in sales]


def invoice_orders(sale_ids):
    from trytond.pool import Pool
    Sale = Pool().get('sale.sale')
    Sale.invoice_once(Sale.browse(sale_ids))


def days_ago(today, days):
    "SQL expression of the date days (an SQL integer) before today"
    from sql import Cast, Literal
    from sql.functions import Function
    from sql.operators import Concat

    from trytond import backend

    class Date(Function):
        __slots__ = ()
        _function = 'DATE'
    if backend.name == 'sqlite':
        return Date(Literal(today.isoformat()),
            Concat(Concat(Literal('-'), days), Literal(' days')))
    return Cast(Literal(today), 'DATE') - days


def copy_customers(bench, count, template_id, sale_ids):
    """The N customers, their invoices and lines, copied from the
    template's; one in ten objected to profiling"""
    from sql import Literal
    from sql.aggregate import Min
    from sql.operators import Concat

    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    Sale = pool.get('sale.sale')
    Invoice = pool.get('account.invoice')
    InvoiceLine = pool.get('account.invoice.line')
    Consent = pool.get('bol_air.gdpr.consent')
    Purpose = pool.get('bol_air.gdpr.purpose')
    Date = pool.get('ir.date')
    today = Date.today()
    template_sale, = Sale.browse(sale_ids)
    template_invoice, = template_sale.invoices
    cursor = bench.Transaction().connection.cursor()

    start = time.perf_counter()
    insert_parties(template_id, count)
    party = Party.__table__()
    invoice = Invoice.__table__()
    template = Invoice.__table__()
    names, _ = columns_of(invoice, template_invoice.id)
    names = [n for n in names if n != 'id']
    invoices = 0
    for k in range(INVOICES):
        # From 2 to 10 invoices a customer (6.4 on average), dated over 3
        # years, none for one customer in seven
        days = (party.id * 37 + k * 211) % 1100
        amount = (party.id * 13 + k * 29) % 200 + 10
        overrides = {
            'party': party.id,
            'number': Concat(Concat(Literal('F'), party.code),
                Literal(f'-{k}')),
            'reference': Literal(None),
            'move': Literal(None),
            'invoice_date': days_ago(today, days),
            'accounting_date': Literal(None),
            'untaxed_amount_cache': amount,
            'tax_amount_cache': amount / 5,
            'total_amount_cache': amount * 6 / 5,
            }
        cursor.execute(*invoice.insert(
                [getattr(invoice, n) for n in names],
                template.join(party,
                    condition=party.code.like(f'{PREFIX}%')).select(
                    *[overrides.get(n, getattr(template, n))
                        for n in names],
                    where=(template.id == template_invoice.id)
                    & (party.id % 7 != 0)
                    & ((party.id + k) % 10 <= k + 1))))
        invoices += cursor.rowcount
    line = InvoiceLine.__table__()
    template_line = InvoiceLine.__table__()
    names, _ = columns_of(line, template_invoice.lines[0].id)
    names = [n for n in names if n != 'id']
    cursor.execute(*line.insert(
            [getattr(line, n) for n in names],
            template_line.join(invoice,
                condition=invoice.number.like(f'F{PREFIX}%')).select(
                *[invoice.id if n == 'invoice'
                    else invoice.party if n == 'party'
                    else getattr(template_line, n) for n in names],
                where=template_line.invoice == template_invoice.id)))
    lines = cursor.rowcount

    # One customer in 25 had an invoice cancelled (credited or not): every
    # page of the list shows some, as in a real file
    first = Invoice.__table__()
    cursor.execute(*invoice.update(
            [invoice.state], ['cancelled'],
            where=invoice.id.in_(first.select(
                    Min(first.id),
                    where=first.number.like(f'F{PREFIX}%')
                    & (first.party % 25 == 0),
                    group_by=[first.party]))))
    cancelled = cursor.rowcount

    # One customer in ten objected to profiling
    profiling = Purpose.by_code('profiling')
    consent, = Consent.create([{
                'party': template_id, 'purpose': profiling.id,
                'status': 'withdrawn', 'channel': 'phone'}])
    objections = clone_rows(Consent, consent.id, 'party')
    consent_table = Consent.__table__()
    cursor.execute(*consent_table.delete(
            where=consent_table.party.in_(party.select(
                    party.id, where=party.code.like(f'{PREFIX}%')
                    & (party.id % 10 != 0)))))
    objections -= cursor.rowcount
    cursor.execute('ANALYZE')
    print(f"{count} clients copiés en {time.perf_counter() - start:.0f} s : "
        f"{invoices} factures dont {cancelled} annulées, {lines} lignes de "
        f"facture, {objections} oppositions au profilage", flush=True)


def explain():
    "PostgreSQL's plan and timings of the query of the new values"
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool()
    Party = pool.get('party.party')
    Configuration = pool.get('bol_air.segmentation.configuration')
    Date = pool.get('ir.date')
    query = Party._segmentation_query(Configuration(1), Date.today())
    sql, params = tuple(query)
    cursor = Transaction().connection.cursor()
    cursor.execute('EXPLAIN (ANALYZE, BUFFERS) ' + sql, params)
    for line, in cursor:
        print('    ' + line)


def compute():
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.compute_segmentation()


DOMAIN = [('crm_customer', '=', True)]  # CRM › Customers, tab "All"
ORDER = [('code', 'ASC')]


def customer_list_fields():
    """The names the web client (sao 8.0) reads for each row of the customer
    list, and how many rows a read: every field of the list view (a list
    loads them all eagerly, shown or optional), rec_name of the Many2One,
    the label of the selections, then rec_name, _timestamp, _write and
    _delete; 1000 rows / min(names, 10) a read (sao's model.js
    Record.load and screen.js add_view)"""
    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    ModelData = pool.get('ir.model.data')
    view_id = ModelData.get_id('bol_air_crm', 'party_view_list_customer')
    view = Party.fields_view_get(view_id, 'tree')
    names = list(view['fields'])
    for name in list(names):
        type_ = view['fields'][name]['type']
        if type_ in {'many2one', 'one2one', 'reference'}:
            names.append(f'{name}.rec_name')
        elif type_ in {'selection', 'multiselection'}:
            names.append(f'{name}:string')
    if 'rec_name' not in names:
        names.append('rec_name')
    names += ['_timestamp', '_write', '_delete']
    return names, 1000 // min(len(names), 10)


def search_ids(limit, result):
    "The client's search of the list's ids"
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    result[:] = [p.id for p in Party.search(DOMAIN, 0, limit, ORDER)]


def search_count(limit):
    "The client counts the rows when the page is full"
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.search_count(DOMAIN, 0, limit * 100)


def read_rows(ids, names):
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.read(ids, names)


def open_list(bench, limit, names, batch, profiler=None):
    """The requests of the web client opening the list of limit rows:
    search, count, then a read of the rows batch by batch; return the
    timings of the search, the count, the reads and the first read"""
    ids = []
    kwargs = {'check_access': True, 'profiler': profiler}
    search = bench.request(search_ids, limit, ids, **kwargs).total
    count = bench.request(search_count, limit, **kwargs).total
    reads = [
        bench.request(read_rows, ids[i:i + batch], names, **kwargs).total
        for i in range(0, len(ids), batch)]
    return search, count, sum(reads), reads[0]


def read_list(limit, names, result):
    "All the rows in one request (not what the client does)"
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    rows = Party.search_read(DOMAIN, 0, limit, ORDER, names)
    result[:] = rows


def count_read(ids, names, result):
    from bol_air_crm.tests.querycount import count_statements
    with count_statements() as counter:
        read_rows(ids, names)
    result.append(counter.count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--customers', type=int, default=100_000,
        help="customers in the file (default: 100000)")
    parser.add_argument('--runs', type=int, default=3,
        help="runs of the computation (default: 3)")
    parser.add_argument('--profile', action='store_true',
        help="profile the customer list")
    parser.add_argument('--explain', action='store_true',
        help="print the plan of the computation's query (PostgreSQL)")
    parser.add_argument('--backend', choices=['sqlite', 'postgresql'],
        default='sqlite',
        help="postgresql uses TRYTOND_DATABASE_URI, by default " + PG_URI)
    args = parser.parse_args()

    tmp = setup_environment(args.backend)
    os.environ['DB_NAME'] = (
        'bench_segmentation' if args.backend == 'sqlite'
        else f'bench_segmentation_{os.getpid()}')
    from trytond.tests.test_tryton import DB_NAME, drop_db
    from trytond.tests.tools import activate_modules

    from bol_air_crm.tests.tools import setup_crm

    start = time.perf_counter()
    try:
        activate_modules(['bol_air_gdpr'], setup_crm)
        uri = os.environ['TRYTOND_DATABASE_URI']
        print(f"Base {args.backend} ({uri.split('@')[-1]} {DB_NAME}) prête "
            f"en {time.perf_counter() - start:.0f} s", flush=True)
        bench = Bench(DB_NAME)
        with bench.transaction() as transaction:
            template_id, sale_ids = prepare_template(bench)
            transaction.commit()
        bench.request(invoice_orders, sale_ids)
        with bench.transaction() as transaction:
            copy_customers(bench, args.customers, template_id, sale_ids)
            transaction.commit()

        timings = [bench.request(compute).total for _ in range(args.runs)]
        print(f"Calcul RFM et segments de {args.customers} clients : "
            f"médiane {statistics.median(timings):.2f} s sur {args.runs} ("
            + ", ".join(f"{t:.2f}" for t in timings)
            + " s ; cible ≤ 10 s)", flush=True)
        if args.explain and args.backend == 'postgresql':
            try:
                bench.request(explain)
            except Exception as exception:  # a plan is no result
                print(f"    EXPLAIN impossible : {exception!r}")
        with bench.transaction() as transaction:
            from trytond.pool import Pool
            Party = Pool().get('party.party')
            Segment = Pool().get('bol_air.segment')
            print("  " + ", ".join(f"{s.code} {s.customer_count}"
                    for s in Segment.search([])) + ", sans segment "
                + str(Party.search_count([
                            ('crm_customer', '=', True),
                            ('segment', '=', None)])))
            names, batch = customer_list_fields()
            ids = []
            search_ids(1000, ids)

        open_list(bench, 1000, names, batch)
        runs = [open_list(bench, 1000, names, batch) for _ in range(5)]
        totals = [sum(r[:3]) for r in runs]
        print(f"Liste des clients, 1 000 lignes comme le client web la "
            f"demande (search, search_count, read par {batch} lignes de "
            f"{len(names)} champs : " + ", ".join(names) + ") : "
            f"médiane {statistics.median(totals) * 1000:.0f} ms sur 5 ("
            + ", ".join(f"{t * 1000:.0f}" for t in totals)
            + " ms ; cible ≤ 200 ms) dont search "
            f"{statistics.median(r[0] for r in runs) * 1000:.0f} ms, "
            f"search_count {statistics.median(r[1] for r in runs) * 1000:.0f}"
            f" ms, {-(-1000 // batch)} read "
            f"{statistics.median(r[2] for r in runs) * 1000:.0f} ms",
            flush=True)
        # sao shows the first Sao.config.display_size (20) rows of the page
        # and loads the batch of those only; the other reads come as the
        # user shows more rows ("More", 20 at a time)
        openings = [r[0] + r[1] + r[3] for r in runs]
        print(f"  dont l'ouverture, jusqu'aux 20 premières lignes affichées "
            f"(search, search_count, premier read) : médiane "
            f"{statistics.median(openings) * 1000:.0f} ms", flush=True)
        counts = []
        for limit in [10, batch]:
            bench.request(count_read, ids[:limit], names, counts,
                check_access=True)
        print(f"  requêtes SQL d'un read de 10 et de {batch} lignes : "
            f"{counts[0]} et {counts[1]}")

        rows = []
        bench.request(read_list, 1000, names, rows, check_access=True)
        timings = [
            bench.request(read_list, 1000, names, rows,
                check_access=True).total
            for _ in range(5)]
        counts = []
        for limit in [10, 1000]:
            bench.request(count_read, ids[:limit], names, counts,
                check_access=True)
        print(f"  pour comparaison, les 1 000 lignes en un seul search_read "
            f": médiane {statistics.median(timings) * 1000:.0f} ms sur 5 ("
            + ", ".join(f"{t * 1000:.0f}" for t in timings)
            + f" ms), requêtes SQL d'un read de 10 et de 1 000 lignes : "
            f"{counts[0]} et {counts[1]}", flush=True)
        if args.profile:
            profiler = cProfile.Profile()
            open_list(bench, 1000, names, batch, profiler=profiler)
            pstats.Stats(profiler).sort_stats('cumulative').print_stats(45)
    finally:
        drop_db()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"Durée totale : {time.perf_counter() - start:.0f} s")


if __name__ == '__main__':
    main()
