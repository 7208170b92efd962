"""Benchmark of the customer segmentation (make bench).

Fills a database with N customers (default 100 000) and about eleven
invoice lines each (1 100 000 lines by default: 2 to 10 posted invoices of
2 lines a customer, dated over the last 3 years, one customer in seven
without any),
copied in bulk, in SQL, from a customer and an invoice made through the
models. One customer in ten objected to profiling (bol_air_gdpr).

Then it prints, each run as the server runs a request (transaction,
commit):
- the computation of the RFM scores and segments of every customer
  (``Party.compute_segmentation``, the daily job and the "Compute Segments"
  action), median of 3 (target ≤ 10 s on PostgreSQL);
- the customer list (CRM › Customers) of 1 000 rows read as the client
  reads it: ``search_read`` of the list view's fields, with the access
  rules, median of 5 (target ≤ 0.2 s), and its statement count for 10 and
  1 000 rows (the same);
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
        f"{invoices} factures, {lines} lignes de facture, "
        f"{objections} oppositions au profilage", flush=True)


def compute():
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.compute_segmentation()


def customer_list_fields():
    "The fields the client reads for the customer list"
    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    ModelData = pool.get('ir.model.data')
    view_id = ModelData.get_id('bol_air_crm', 'party_view_list_customer')
    view = Party.fields_view_get(view_id, 'tree')
    names = ['rec_name', '_timestamp', '_write', '_delete']
    for name, field in view['fields'].items():
        names.append(name)
        if field['type'] == 'many2one':
            names.append(f'{name}.rec_name')
    return names


def read_list(limit, names, result):
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    rows = Party.search_read(
        [('crm_customer', '=', True)], 0, limit, [('code', 'ASC')], names)
    result[:] = rows


def count_list(limit, names, result):
    from bol_air_crm.tests.querycount import count_statements
    with count_statements() as counter:
        read_list(limit, names, [])
    result.append(counter.count)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--customers', type=int, default=100_000,
        help="customers in the file (default: 100000)")
    parser.add_argument('--runs', type=int, default=3,
        help="runs of the computation (default: 3)")
    parser.add_argument('--profile', action='store_true',
        help="profile the customer list")
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
        with bench.transaction() as transaction:
            from trytond.pool import Pool
            Party = Pool().get('party.party')
            Segment = Pool().get('bol_air.segment')
            print("  " + ", ".join(f"{s.code} {s.customer_count}"
                    for s in Segment.search([])) + ", sans segment "
                + str(Party.search_count([
                            ('crm_customer', '=', True),
                            ('segment', '=', None)])))
            names = customer_list_fields()

        rows = []
        bench.request(read_list, 1000, names, rows, check_access=True)
        timings = [
            bench.request(read_list, 1000, names, rows,
                check_access=True).total
            for _ in range(5)]
        print(f"Liste des clients, 1 000 lignes ({len(names)} champs : "
            + ", ".join(names) + ") : "
            f"médiane {statistics.median(timings) * 1000:.0f} ms sur 5 ("
            + ", ".join(f"{t * 1000:.0f}" for t in timings)
            + " ms ; cible ≤ 200 ms)", flush=True)
        counts = []
        for limit in [10, 1000]:
            bench.request(count_list, limit, names, counts,
                check_access=True)
        print(f"  requêtes SQL pour 10 et 1 000 lignes : {counts[0]} et "
            f"{counts[1]}")
        if args.profile:
            profiler = cProfile.Profile()
            bench.request(read_list, 1000, names, rows, check_access=True,
                profiler=profiler)
            pstats.Stats(profiler).sort_stats('cumulative').print_stats(30)
    finally:
        drop_db()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"Durée totale : {time.perf_counter() - start:.0f} s")


if __name__ == '__main__':
    main()
