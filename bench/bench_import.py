"""Benchmark of the customer import (make bench).

Generates an extended customer file (default 50 000 rows, about one row in
ten a variant of an earlier person), imports it into a fresh database with
duplicate detection, then imports the same rows into another fresh database
with Tryton's generic ``import_data``, and prints both times and the ratio.

    python bench/bench_import.py [--rows 50000]
"""
import argparse
import io
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault('TRYTOND_DATABASE_URI', 'sqlite://')
os.environ.setdefault('DB_NAME', ':memory:')
os.environ.setdefault('DB_CACHE', str(ROOT / 'var' / 'cache' / 'bench'))

LAST = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD",
    "PETIT", "DURAND", "LEROY", "MOREAU", "SIMON", "LAURENT", "LEFEBVRE",
    "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX", "VINCENT", "FOURNIER"]
FIRST = ["Marie", "Anne", "Julie", "Sophie", "Nathalie", "Isabelle",
    "Sylvie", "Catherine", "Valérie", "Christine", "Pierre", "Jean",
    "Michel", "Philippe", "Alain", "Nicolas", "Élodie", "Léa", "Emma"]


def suffix(i):
    "A distinct surname suffix made of letters"
    text = ''
    while True:
        i, r = divmod(i, 26)
        text += chr(65 + r)
        if not i:
            return text


def generate(count, seed=42):
    random.seed(seed)
    rows = []
    for i in range(count):
        if i > 10 and random.random() < 0.1:
            # the same person again, typed differently
            j = random.randrange(i)
            base = rows[j]
            rows.append([None, None, base[2].lower(), base[3].upper(),
                    None, base[5], None, base[7].replace(' ', '.'), None,
                    None, None, None, None, None, None])
            continue
        last = f"{random.choice(LAST)}-{suffix(i)}"
        rows.append([
                i + 1, random.choice(["Mme", "M."]), last,
                random.choice(FIRST), f"{random.randint(1, 99)} rue Haute",
                f"{random.randint(1000, 95999):05d}", "Limoges",
                f"06 {12 + i // 1000000 % 80:02d} {i // 10000 % 100:02d} "
                f"{i // 100 % 100:02d} {i % 100:02d}",
                f"client{i}@example.com",
                f"{random.randint(1, 28):02d}/{random.randint(1, 12):02d}/"
                f"{random.randint(1940, 2000)}",
                random.choice(["Oui", "Non"]), "Maryse Brun",
                random.randint(0, 5), f"{random.randint(0, 3000)} €",
                "Salon"])
    return rows


def xlsx(rows):
    import openpyxl

    from bol_air_crm.customer_import import EXPORT_HEADERS
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(EXPORT_HEADERS)
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rows', type=int, default=50_000)
    parser.add_argument(
        '--generic-rows', type=int, default=None,
        help="rows given to import_data (default: all; it takes about "
        "35 ms a row)")
    args = parser.parse_args()
    if args.generic_rows is None:
        args.generic_rows = args.rows

    from trytond.modules.company.tests import (
        create_company, create_employee, set_company)
    from trytond.pool import Pool
    from trytond.tests.test_tryton import (
        DB_NAME, USER, activate_module, drop_db)
    from trytond.transaction import Transaction

    from bol_air_crm.customer_import import CustomerImport

    rows = generate(args.rows)
    data = xlsx(rows)
    print(f"Fichier : {args.rows} lignes, {len(data) / 1e6:.1f} Mo "
        f"({sys.argv[0]})")
    activate_module('bol_air_crm')

    def fresh(func):
        with Transaction().start(DB_NAME, USER, context={}) as transaction:
            company = create_company()
            with set_company(company):
                create_employee(company, name="Maryse Brun")
                start = time.perf_counter()
                result = func()
                elapsed = time.perf_counter() - start
            transaction.rollback()
        return elapsed, result

    import_time, result = fresh(lambda: CustomerImport().run(data))
    print(f"bolair import-customers : {import_time:.1f} s, "
        f"{args.rows / import_time:,.0f} lignes/s "
        f"({result.summary['created']} créés, "
        f"{result.summary['merged']} fusionnés)".replace(',', ' '))

    def generic():
        Party = Pool().get('party.party')
        names = ['crm_customer', 'code', 'name', 'last_name', 'first_name',
            'birth_date', 'host_status', 'legacy_revenue',
            'legacy_revenue_date',
            'addresses/street_unstructured', 'addresses/postal_code',
            'addresses/city', 'contact_mechanisms/type',
            'contact_mechanisms/value']
        # The same rows as they stand (import_data neither cleans nor
        # merges): codes of the variants are left empty
        today = time.strftime('%Y-%m-%d')
        lines = []
        for i, row in enumerate(rows):
            lines.append([
                    'True', str(row[0] or f'V{i}'), f"{row[2]} {row[3]}",
                    row[2], row[3],
                    '-'.join(reversed(row[9].split('/'))) if row[9] else '',
                    'host' if row[10] == "Oui" else 'none',
                    (row[13] or '0').replace(' €', ''), today,
                    row[4] or '', row[5] or '', row[6] or '',
                    'email' if row[8] else 'phone',
                    # import_data cannot clean: give it what it accepts
                    row[8] or '+33' + ''.join(
                        c for c in row[7] if c.isdigit())[1:]])
        return Party.import_data(names, lines[:args.generic_rows])

    generic_time, _ = fresh(generic)
    generic_speed = args.generic_rows / generic_time
    print(f"Tryton import_data : {generic_time:.1f} s pour "
        f"{args.generic_rows} lignes, {generic_speed:,.0f} lignes/s".replace(
            ',', ' '))
    print(f"Rapport : import {args.rows / import_time / generic_speed:.1f} "
        "fois plus rapide que import_data (lignes par seconde)")
    drop_db()


if __name__ == '__main__':
    main()
