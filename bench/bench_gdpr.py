"""Benchmark of the GDPR access export and erasure (make bench).

Fills a database with N customers (default 100 000) as the file would hold
them: an address, an e-mail and a mobile phone, a consent, an interaction,
an order of 2 lines and a posted invoice each, and one newsletter
subscription in ten. The rows are copied in bulk, in SQL, from the records
of a first customer made through the models. A target customer has far
more: about 50 consents, 20 interactions, 5 orders invoiced through the
CRM (with their loyalty points), meetings as host and as guest, a voucher
and a portal account.

Then it prints, each run as the server runs a request (transaction,
commit):
- the access export of the target (``Party.gdpr_access_files``: JSON and
  workbook), median of 5 (objective ≤ 60 s, target ≤ 2 s);
- the erasure of a customer without open orders
  (``Party.gdpr_erase``), median of 5 customers.

    python bench/bench_gdpr.py [--customers 100000] [--backend sqlite]

SQLite (the default) works on a temporary file; ``--backend postgresql``
on TRYTOND_DATABASE_URI (default postgresql://postgres@127.0.0.1:5432/), in
a throw-away database. About 1 minute and a half on SQLite, 2 and a half
on PostgreSQL (activated database not cached yet) on two cores.
"""
import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_invoice import (  # noqa: E402
    PG_URI, Bench, confirm_without_processing, setup_environment)

PREFIX = 'GDPR-'


def columns_of(table, record_id):
    "The column names and values of the row record_id of table"
    from trytond.transaction import Transaction
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.select(where=table.id == record_id))
    names = [d[0] for d in cursor.description]
    return names, dict(zip(names, cursor.fetchone()))


def insert_parties(template_id, count):
    """Insert count copies of the party template_id, coded PREFIX + number,
    by executemany"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Party = Pool().get('party.party')
    table = Party.__table__()
    names, values = columns_of(table, template_id)
    names = [n for n in names if n != 'id']
    rows = []
    for i in range(count):
        code = f'{PREFIX}{i:07d}'
        row = dict(values, code=code, code_alnum=code.replace('-', ''),
            name=f"CLIENT{i} Anne", last_name=f"CLIENT{i}",
            create_date=dt.datetime.now())
        rows.append([row[n] for n in names])
    query = table.insert(
        [getattr(table, n) for n in names], [[None] * len(names)])
    sql, _ = tuple(query)
    cursor = Transaction().connection.cursor()
    for start in range(0, count, 5000):
        cursor.executemany(sql, rows[start:start + 5000])


def clone_rows(Model, template_id, column, overrides=None):
    """Copy the row template_id of Model for each bulk party, column set to
    that party's id (overrides: column -> expression on the party table);
    return the number of rows inserted"""
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    Party = Pool().get('party.party')
    table = Model.__table__()
    template = Model.__table__()
    party = Party.__table__()
    names, _ = columns_of(table, template_id)
    names = [n for n in names if n != 'id']
    overrides = dict(overrides or {}, **{column: lambda p: p.id})

    def value(name):
        if name not in overrides:
            return getattr(template, name)
        override = overrides[name]
        return override(party) if callable(override) else override
    select = template.join(
        party, condition=party.code.like(f'{PREFIX}%')).select(
        *[value(n) for n in names], where=template.id == template_id)
    cursor = Transaction().connection.cursor()
    cursor.execute(*table.insert([getattr(table, n) for n in names], select))
    return cursor.rowcount


def person(name, email):
    "A customer with an address, an e-mail and a mobile phone"
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    party, = Party.create([{
                'crm_customer': True, 'last_name': name,
                'first_name': "Anne",
                'addresses': [('create', [{
                                'street': "12 rue des Lilas",
                                'postal_code': '69003', 'city': "Lyon",
                                }])],
                'contact_mechanisms': [('create', [
                            {'type': 'email', 'value': email},
                            {'type': 'mobile', 'value': '+33612345678'},
                            ])],
                }])
    return party


def prepare_target(bench):
    """The target customer and her confirmed orders; return the ids of
    the records to copy"""
    from trytond.pool import Pool
    pool = Pool()
    Consent = pool.get('bol_air.gdpr.consent')
    Purpose = pool.get('bol_air.gdpr.purpose')
    Interaction = pool.get('bol_air.interaction')
    Meeting = pool.get('bol_air.meeting')
    Card = pool.get('bol_air.loyalty.account')
    Voucher = pool.get('bol_air.voucher')
    WebUser = pool.get('web.user')
    Request = pool.get('bol_air.gdpr.request')
    EmailList = pool.get('marketing.email.list')
    Email = pool.get('marketing.email')
    Lang = pool.get('ir.lang')

    newsletter = Purpose.by_code('newsletter')
    purposes = [p for p in Purpose.search([]) if p.current_text]
    target = person("CIBLE", 'cible@example.com')
    card, = Card.create([{'party': target.id}])
    consents = Consent.create([{
                'party': target.id, 'purpose': purposes[i % len(purposes)].id,
                'status': 'given' if i % 3 else 'withdrawn',
                'channel': 'portal', 'ip_address': '203.0.113.7',
                'user_agent': 'Firefox/140',
                'text_version': purposes[i % len(purposes)].current_text.id,
                'date': dt.datetime(2025, 1, 1) + dt.timedelta(days=i),
                } for i in range(50)])
    interactions = Interaction.create([{
                'party': target.id, 'channel': 'phone',
                'summary': f"Appel {i}", 'employee': bench.maryse_employee,
                } for i in range(20)])
    # Meetings: hosts one, guest at three
    hosts = [person(f"HOTESSE{i}", f'hotesse{i}@example.com')
        for i in range(3)]
    hosted = [{
            'host': target.id, 'ambassador': bench.maryse_employee,
            'date': dt.datetime.now() + dt.timedelta(days=10),
            }]
    Meeting.create(hosted + [{
                'host': h.id, 'ambassador': bench.maryse_employee,
                'date': dt.datetime.now() - dt.timedelta(days=30),
                'guests': [('create', [{'party': target.id}])],
                } for h in hosts])
    sales = bench.create_orders([target] * 5, lines=3)
    confirm_without_processing(sales)
    Voucher.create([{
                'party': target.id, 'amount': 5, 'kind': 'goodwill',
                'reason': "Retard de livraison"}])
    WebUser.create([{
                'email': 'cible@example.com', 'party': target.id,
                'password': 'Cible-portail-2026'}])
    Request.create([{'party': target.id, 'kind': 'access'}])
    english, = Lang.search([('code', '=', 'en')])
    news_list, = EmailList.create([{
                'name': "Lettre du Bol d'Air", 'language': english.id,
                'purpose': newsletter.id}])
    Consent.create([{
                'party': target.id, 'purpose': newsletter.id,
                'status': 'given', 'channel': 'email',
                'text_version': newsletter.current_text.id}])
    email, = Email.create([{
                'email': 'cible@example.com', 'list_': news_list.id}])
    return {
        'target': target.id, 'sales': [s.id for s in sales],
        'consent': consents[0].id, 'interaction': interactions[0].id,
        'email': email.id,
        }


def invoice_orders(sale_ids):
    "Invoice the orders through the CRM (points on the card)"
    from trytond.pool import Pool
    Sale = Pool().get('sale.sale')
    Sale.invoice_once(Sale.browse(sale_ids))


def copy_customers(bench, count, ids):
    """The N customers, copied from the target's records, and the
    customers to erase; return the ids of these"""
    from sql import Literal
    from sql.operators import Concat

    from trytond.model import fields
    from trytond.pool import Pool
    pool = Pool()
    Party = pool.get('party.party')
    Address = pool.get('party.address')
    Mechanism = pool.get('party.contact_mechanism')
    Consent = pool.get('bol_air.gdpr.consent')
    Purpose = pool.get('bol_air.gdpr.purpose')
    Interaction = pool.get('bol_air.interaction')
    Sale = pool.get('sale.sale')
    SaleLine = pool.get('sale.line')
    Invoice = pool.get('account.invoice')
    Email = pool.get('marketing.email')
    target = Party(ids['target'])
    template_sale = Sale(ids['sales'][0])
    invoice, = template_sale.invoices
    newsletter = Purpose.by_code('newsletter')

    start = time.perf_counter()
    insert_parties(target.id, count)
    address, = target.addresses
    mechanisms = {m.type: m for m in target.contact_mechanisms}
    counts = {}

    def email_of(party):
        return Concat(Concat(Literal('c'), party.code), '@example.com')

    counts['adresses'] = clone_rows(Address, address.id, 'party')
    counts['e-mails'] = clone_rows(
        Mechanism, mechanisms['email'].id, 'party',
        {'value': email_of, 'value_compact': email_of})
    counts['mobiles'] = clone_rows(Mechanism, mechanisms['mobile'].id, 'party')
    counts['consentements'] = clone_rows(Consent, ids['consent'], 'party')
    counts['interactions'] = clone_rows(
        Interaction, ids['interaction'], 'party')
    counts['commandes'] = clone_rows(
        Sale, template_sale.id, 'party',
        {'number': lambda p: Concat(Literal('S'), p.code)})
    # The lines of each copied order
    sale = Sale.__table__()
    line = SaleLine.__table__()
    template = SaleLine.__table__()
    names, _ = columns_of(line, template_sale.lines[0].id)
    names = [n for n in names if n != 'id']
    cursor = bench.Transaction().connection.cursor()
    cursor.execute(*line.insert(
            [getattr(line, n) for n in names],
            template.join(sale, condition=sale.number.like(f'S{PREFIX}%'))
            .select(*[sale.id if n == 'sale' else getattr(template, n)
                    for n in names],
                where=template.sale == template_sale.id)))
    counts['lignes de commande'] = cursor.rowcount
    counts['factures'] = clone_rows(
        Invoice, invoice.id, 'party',
        {'number': lambda p: Concat(Literal('F'), p.code),
            'move': Literal(None)})
    party = Party.__table__()
    email_table = Email.__table__()
    names, _ = columns_of(email_table, ids['email'])
    names = [n for n in names if n != 'id']
    overrides = {'email': email_of(party), 'email_token': party.code}
    # The stored link to the person, if a module adds one
    overrides.update({
            n: party.id for n, f in Email._fields.items()
            if isinstance(f, fields.Many2One)
            and f.model_name == 'party.party'})
    cursor.execute(*email_table.insert(
            [getattr(email_table, n) for n in names],
            email_table.join(party,
                condition=party.code.like(f'{PREFIX}%0')).select(
                *[overrides.get(n, getattr(email_table, n)) for n in names],
                where=email_table.id == ids['email'])))
    counts['abonnements à la lettre'] = cursor.rowcount
    cursor.execute('ANALYZE')
    print(f"{count} clients copiés en {time.perf_counter() - start:.0f} s : "
        + ", ".join(f"{n} {name}" for name, n in counts.items()),
        flush=True)

    to_erase = [person(f"EFFACER{i}", f'effacer{i}@example.com')
        for i in range(5)]
    Consent.create([{
                'party': p.id, 'purpose': newsletter.id, 'status': 'given',
                'channel': 'paper',
                'text_version': newsletter.current_text.id,
                } for p in to_erase])
    Interaction.create([{
                'party': p.id, 'channel': 'phone', 'summary': "Appel",
                } for p in to_erase])
    return target.id, [p.id for p in to_erase]


def export(party_id, result):
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    json_file, xlsx_file = Party(party_id).gdpr_access_files()
    result[:] = [json_file, xlsx_file]


def erase(party_id):
    from trytond.pool import Pool
    Party = Pool().get('party.party')
    Party.gdpr_erase([Party(party_id)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--customers', type=int, default=100_000,
        help="customers in the file (default: 100000)")
    parser.add_argument('--runs', type=int, default=5,
        help="runs of each measure (default: 5)")
    parser.add_argument('--backend', choices=['sqlite', 'postgresql'],
        default='sqlite',
        help="postgresql uses TRYTOND_DATABASE_URI, by default " + PG_URI)
    args = parser.parse_args()

    tmp = setup_environment(args.backend)
    os.environ['DB_NAME'] = (
        'bench_gdpr' if args.backend == 'sqlite'
        else f'bench_gdpr_{os.getpid()}')
    from trytond.tests.test_tryton import DB_NAME, drop_db
    from trytond.tests.tools import activate_modules

    from bol_air_loyalty.tests.tools import setup_loyalty

    start = time.perf_counter()
    try:
        activate_modules(['bol_air_gdpr', 'bol_air_loyalty'], setup_loyalty)
        uri = os.environ['TRYTOND_DATABASE_URI']
        print(f"Base {args.backend} ({uri.split('@')[-1]} {DB_NAME}) prête "
            f"en {time.perf_counter() - start:.0f} s", flush=True)
        bench = Bench(DB_NAME)
        with bench.transaction() as transaction:
            ids = prepare_target(bench)
            transaction.commit()
        bench.request(invoice_orders, ids['sales'])
        with bench.transaction() as transaction:
            target, to_erase = copy_customers(bench, args.customers, ids)
            transaction.commit()

        result = []
        timings = [bench.request(export, target, result).total
            for _ in range(args.runs)]
        json_file, xlsx_file = result
        import json
        sections = json.loads(json_file)['sections']
        print(f"Export d'accès (JSON + classeur) d'une cliente parmi "
            f"{args.customers} : médiane {statistics.median(timings):.2f} s "
            f"sur {args.runs} (" + ", ".join(f"{t:.2f}" for t in timings)
            + " s ; objectif ≤ 60 s, cible ≤ 2 s)")
        print(f"  JSON {len(json_file) / 1024:.0f} Kio, classeur "
            f"{len(xlsx_file) / 1024:.0f} Kio, lignes : " + ", ".join(
                f"{k} {len(v)}" for k, v in sections.items()))

        timings = [bench.request(erase, party_id).total
            for party_id in to_erase[:args.runs]]
        print(f"Effacement (Party.gdpr_erase) d'une cliente sans commande "
            f"en cours : médiane {statistics.median(timings):.2f} s sur "
            f"{len(timings)} (" + ", ".join(f"{t:.2f}" for t in timings)
            + " s)")
    finally:
        drop_db()
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"Durée totale : {time.perf_counter() - start:.0f} s")


if __name__ == '__main__':
    main()
