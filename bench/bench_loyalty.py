"""Benchmark of the loyalty points awarded at posting (make bench).

Posts customer invoices (default 1 000, 2 lines each) of customers who hold
a loyalty card, so each posting also credits the points, against as many
invoices of customers without a card (plain Tryton posting: the module's
hook finds no card), in alternate batches in the same database. Each batch
is posted as the server's dispatcher runs a request (transaction restarted
for the locks, committed, then its queued tasks: the rendering of the
invoices, the same for both). The ratio of the two shows what awarding the
points adds to posting (objective: at most 10 %).

    python bench/bench_loyalty.py [--invoices 1000] [--batches 10]
        [--backend sqlite|postgresql]
"""
import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_invoice import PG_URI, Bench, Timing, setup_environment  # noqa


def create_invoices(bench, count, cards):
    "Create count draft customer invoices, of card holders or not"
    from trytond.pool import Pool
    pool = Pool()
    Invoice = pool.get('account.invoice')
    Account = pool.get('bol_air.loyalty.account')
    ids = []
    for start in range(0, count, 100):
        parties = bench.create_parties(min(100, count - start))
        if cards:
            Account.create([{'party': p.id} for p in parties])
        invoices = []
        for i, party in enumerate(parties):
            invoice = Invoice(
                type='out', party=party,
                invoice_address=party.addresses[0])
            invoice.on_change_type()
            invoice.lines = [
                bench.invoice_line(invoice, product, 1 + (i % 5))
                for product in bench.invoice_products]
            invoices.append(invoice)
        Invoice.save(invoices)
        ids.extend(i.id for i in invoices)
    return ids


def post(invoice_ids):
    from trytond.pool import Pool
    Invoice = Pool().get('account.invoice')
    Invoice.post(Invoice.browse(invoice_ids))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--invoices', type=int, default=1000,
        help="invoices posted on each side (default: 1000)")
    parser.add_argument('--batches', type=int, default=10,
        help="alternate batches of each side (default: 10)")
    parser.add_argument('--backend', choices=['sqlite', 'postgresql'],
        default='sqlite',
        help="postgresql uses TRYTOND_DATABASE_URI, by default " + PG_URI)
    args = parser.parse_args()

    tmp = setup_environment(args.backend)
    from trytond.tests.test_tryton import DB_NAME, drop_db
    from trytond.tests.tools import activate_modules

    from bol_air_loyalty.tests.tools import setup_loyalty

    start = time.perf_counter()
    try:
        activate_modules('bol_air_loyalty', setup_loyalty)
        print(f"Base {args.backend} prête en "
            f"{time.perf_counter() - start:.0f} s", flush=True)
        bench = Bench(DB_NAME)
        with bench.transaction() as transaction:
            from trytond.pool import Pool
            pool = Pool()
            Product = pool.get('product.product')
            InvoiceLine = pool.get('account.invoice.line')
            bench.invoice_products = Product.search([
                    ('name', 'in', ["Assiette", "Théière"])])

            def invoice_line(invoice, product, quantity):
                line = InvoiceLine(
                    invoice=invoice, type='line', product=product,
                    quantity=quantity, unit=product.sale_uom,
                    unit_price=product.list_price_used,
                    account=product.account_revenue_used,
                    taxes=product.customer_taxes_used)
                return line
            bench.invoice_line = invoice_line
            prepare = time.perf_counter()
            with_cards = create_invoices(bench, args.invoices, cards=True)
            without = create_invoices(bench, args.invoices, cards=False)
            warm_up = create_invoices(bench, 1, cards=False)
            transaction.commit()
        # The first posting of the period creates its journal period
        bench.request(post, warm_up)
        print(f"{args.invoices} + {args.invoices} factures brouillon "
            f"préparées en {time.perf_counter() - prepare:.0f} s", flush=True)

        size = -(-args.invoices // args.batches)
        sides = {'cartes': with_cards, 'sans carte': without}
        timings = {name: Timing() for name in sides}
        for i in range(args.batches):
            names = list(sides) if i % 2 == 0 else list(reversed(sides))
            line = []
            for name in names:
                batch = sides[name][i * size:(i + 1) * size]
                if batch:
                    timing = bench.request(post, batch)
                    timings[name].add(timing)
                    line.append(f"{name} {timing.total:.1f} s "
                        f"({timing.retried:.1f} + {timing.final:.1f} + "
                        f"{timing.tasks:.1f} s)")
            print(f"  lot {i + 1}/{args.batches} de {size} : "
                + ", ".join(line), flush=True)

        with bench.transaction():
            from trytond.pool import Pool
            Account = Pool().get('bol_air.loyalty.account')
            accounts = Account.search([])
            points = sum(a.balance for a in accounts)
            balances = Account.current_balances([a.id for a in accounts])
            assert all(a.balance == balances[a.id] for a in accounts)
            assert len([a for a in accounts if a.balance]) == args.invoices
        for name, timing in timings.items():
            print(f"Comptabilisation, {name} : {timing.total:.1f} s pour "
                f"{args.invoices} factures ({timing.detail()})")
        with_, without_ = timings['cartes'], timings['sans carte']
        print(f"{points} points crédités. Rapport cartes / sans carte : "
            f"{with_.total / without_.total:.3f} (objectif ≤ 1.10 ; essais "
            f"aboutis seuls : {with_.final / without_.final:.3f})")
    finally:
        drop_db()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"Durée totale : {time.perf_counter() - start:.0f} s")


if __name__ == '__main__':

    main()
