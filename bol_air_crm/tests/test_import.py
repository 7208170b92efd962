# This file is part of bol_air_crm.
"""Customer file import and export: cleaning, duplicates, refusals."""
import functools
import io
import unittest
from decimal import Decimal
from pathlib import Path

import openpyxl

from trytond.modules.company.tests import (
    create_company, create_employee, set_company)
from trytond.pool import Pool
from trytond.tests.test_tryton import activate_module, with_transaction
from trytond.transaction import Transaction

from .. import cleaning
from ..customer_import import EXPORT_HEADERS, CustomerImport, export_xlsx
from ..exceptions import ImportFileError
from .querycount import count_statements

ANNEX = Path(__file__).resolve().parents[2] / 'data' / 'annexe2.xlsx'
EXTENDED_HEADER = EXPORT_HEADERS


def xlsx(rows):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


def annex_rows(text_amounts=False):
    workbook = openpyxl.load_workbook(ANNEX, read_only=True)
    rows = [list(r) for r in workbook.worksheets[0].iter_rows(
            values_only=True)]
    workbook.close()
    if text_amounts:
        for i, row in enumerate(rows[1:]):
            amount = f'{row[5]:,}'.replace(',', ['\xa0', '\u202f', ' '][i % 3])
            row[5] = [amount, amount + " €", amount + ",00"][i % 3]
    return rows


def with_company(func):
    "Run the test in a new company with the two ambassadors"
    @functools.wraps(func)
    def wrapper(self):
        company = create_company()
        with set_company(company):
            self.maryse = create_employee(company, name="Maryse Brun")
            self.remy = create_employee(company, name="Remy Albando")
            return func(self)
    return wrapper


class CustomerImportTestCase(unittest.TestCase):
    "Import and export of customer files"

    @classmethod
    def setUpClass(cls):
        activate_module('bol_air_crm')

    def customers(self):
        Party = Pool().get('party.party')
        return Party.search([('crm_customer', '=', True)])

    def check_annex(self, parties):
        self.assertEqual(len(parties), 41)
        self.assertEqual(
            sum(p.host_status == 'host' for p in parties), 16)
        self.assertEqual(
            sum(p.annual_revenue for p in parties), Decimal('18640'))
        revel, = [p for p in parties if p.code == '1']
        self.assertEqual(revel.name, "REVEL Marie-Paule")
        self.assertEqual(revel.annual_revenue, Decimal('1254'))
        self.assertEqual(revel.ambassador, self.maryse)
        uffol, = [p for p in parties if p.code == '50']
        self.assertEqual(uffol.name, "UFFOL Jérôme")
        self.assertEqual(uffol.ambassador, self.remy)

    @with_transaction()
    @with_company
    def test_annex(self):
        "The annex gives 41 customers, 16 hosts and 18 640 € of revenue"
        result = CustomerImport().run(ANNEX.read_bytes())
        self.assertEqual(result.summary['created'], 41)
        self.check_annex(self.customers())

    @with_transaction()
    @with_company
    def test_annex_amounts_as_text(self):
        "Amounts typed as text with spaces and € give the same revenue"
        CustomerImport().run(xlsx(annex_rows(text_amounts=True)))
        self.check_annex(self.customers())

    @with_transaction()
    @with_company
    def test_import_twice(self):
        "Importing the same file twice creates and changes nothing"
        Party = Pool().get('party.party')
        data = xlsx(annex_rows())
        CustomerImport().run(data)
        before = {p.id: p.write_date for p in self.customers()}
        result = CustomerImport().run(data)
        self.assertEqual(result.summary['unchanged'], 41)
        self.assertEqual(result.summary['created'], 0)
        after = {p.id: p.write_date for p in Party.browse(list(before))}
        self.assertEqual(before, after)
        self.assertEqual(len(self.customers()), 41)

    @with_transaction()
    @with_company
    def test_messy_file(self):
        "A file typed by hand gives one customer per real person"
        pool = Pool()
        Contact = pool.get('party.contact_mechanism')
        rows = [
            EXTENDED_HEADER,
            # Marie-Paule Revel, three times with variants
            [1, "mme", "revel", "marie-paule", "3 rue  des Lilas", 7000,
                "Bourg", "06 12 34 56 78", "MP.Revel@Example.com ", None,
                "OUI", "maryse brun", 2, "1 254 €", "Réunion"],
            [None, None, "Revel", "Marie Paule", None, "07000", "BOURG",
                "+33 6 12 34 56 78", None, "12/03/1970", None, None, None,
                None, None],
            [61, None, "REVEL", "marie-paule", None, None, None,
                "0612345678", "mp.revel@example.com", None, "non", None,
                None, None, None],
            # Jean Dupont written with phones in other ways
            [None, "M.", "dupont", "jean", "8 av. Foch", "87000", "Limoges",
                "06.98.76.54.32", None, None, "Non", "Remy Albando", None,
                "89,50", None],
            [None, "Monsieur", "DUPONT", "Jean", None, "87000", None,
                "0033698765432", "jdupont@example.org", None, None, None,
                None, None, "salon"],
            # A namesake in another town: another person
            [None, "M.", "Dupont", "Jean", "1 place du Marché", "19100",
                "Brive", "05 55 11 22 33", None, None, None, None, None,
                None, None],
            # Elodie Avrillo, no accent, phone as an Excel number
            [None, None, "avrillo", "elodie", None, "87100", "Limoges",
                687654321, None, None, None, None, None, None, None],
            ]
        result = CustomerImport().run(xlsx(rows))
        self.assertFalse([r.errors for r in result.rows if r.errors])
        parties = self.customers()
        self.assertEqual(len(parties), 4, [p.rec_name for p in parties])
        revel, = [p for p in parties if p.last_name == 'REVEL']
        self.assertEqual(revel.code, '1')
        self.assertEqual(revel.former_codes, '61')
        self.assertEqual(revel.first_name, "Marie-Paule")
        self.assertEqual(str(revel.birth_date), '1970-03-12')
        self.assertEqual(revel.host_status, 'host')
        self.assertEqual(revel.ambassador, self.maryse)
        self.assertEqual(revel.annual_revenue, Decimal('1254'))
        self.assertEqual(revel.civility, 'mme')
        self.assertEqual(
            [(a.postal_code, a.city) for a in revel.addresses],
            [('07000', "Bourg")])
        self.assertEqual(
            sorted(cleaning.phone_key(c.value) or c.value
                for c in Contact.search([('party', '=', revel.id)])),
            ['+33612345678', 'mp.revel@example.com'])
        duponts = [p for p in parties if p.last_name == 'DUPONT']
        self.assertEqual(len(duponts), 2)
        self.assertEqual(
            sorted(p.addresses[0].postal_code for p in duponts),
            ['19100', '87000'])
        statuses = [r.status for r in result.rows]
        self.assertEqual(statuses, [
                'created', 'merged', 'merged', 'created', 'merged',
                'created', 'created'])
        # The namesakes are listed as possible duplicates of each other
        details = [d for *_, d in result.report_rows()]
        self.assertIn("possible duplicate", details[5])
        self.assertIn("possible duplicate", details[3])
        self.assertNotIn("possible duplicate", details[0])
        avrillo, = [p for p in parties if p.last_name == 'AVRILLO']
        self.assertEqual(avrillo.first_name, "Elodie")
        self.assertEqual(
            [cleaning.phone_key(c.value) for c in avrillo.contact_mechanisms],
            ['+33687654321'])

    @with_transaction()
    @with_company
    def test_invalid_rows_write_nothing(self):
        "A file with an invalid row writes nothing unless partial"
        rows = [
            EXTENDED_HEADER,
            [None, None, "MARTIN", "Anne", None, "87000", None, None, None,
                None, None, None, None, None, None],
            [None, None, "DURAND", "Luc", None, "ABCDE", None, "12",
                "pas-un-email", "31/02/1980", "peut-être", "Inconnu Z",
                None, "beaucoup", None],
            ]
        result = CustomerImport().run(xlsx(rows))
        self.assertEqual(self.customers(), [])
        self.assertEqual(result.summary['error'], 1)
        row = result.rows[1]
        self.assertEqual(row.number, 3)
        self.assertEqual(
            {f for f, _, _ in row.errors},
            {'postal_code', 'phone', 'email', 'birth_date', 'host',
                'ambassador', 'annual_revenue'})
        report = list(result.report_rows())
        self.assertIn("ABCDE", report[1][4])
        self.assertFalse(result.written)

        result = CustomerImport(partial=True).run(xlsx(rows))
        self.assertEqual([p.name for p in self.customers()], ["MARTIN Anne"])

    @with_transaction()
    @with_company
    def test_customer_numbers_conflicts(self):
        "A number never merges two different people"
        CustomerImport().run(ANNEX.read_bytes())
        header = ["N° client", "Nom", "Prénom", "Code postal"]
        # N° 1 is REVEL Marie-Paule: another name is refused
        result = CustomerImport().run(xlsx([
                    header, [1, "AUTRE", "Personne", "87000"],
                    [None, "NOUVELLE", "Cliente", "87000"]]))
        self.assertEqual(
            [(f, c) for f, c, _ in result.rows[0].errors],
            [('code', 'code_taken')])
        self.assertFalse(result.written)
        self.assertEqual(len(self.customers()), 41)
        # The same name with its number is the same customer
        result = CustomerImport().run(xlsx([
                    header, [1, "Revel", "Marie-Paule", None]]))
        self.assertEqual(result.rows[0].status, 'unchanged')
        # Two people of the file with the same new number
        result = CustomerImport().run(xlsx([
                    header, [90, "PREMIER", "Paul", "87000"],
                    [90, "SECOND", "Pierre", "19100"]]))
        self.assertEqual(
            [(f, c) for f, c, _ in result.rows[1].errors],
            [('code', 'code_duplicate')])
        self.assertIn("2", list(result.report_rows())[1][4])
        self.assertEqual(len(self.customers()), 41)
        result = CustomerImport(partial=True).run(xlsx([
                    header, [90, "PREMIER", "Paul", "87000"],
                    [90, "SECOND", "Pierre", "19100"]]))
        self.assertEqual(
            sorted(p.name for p in self.customers() if p.code == '90'),
            ["PREMIER Paul"])

    @with_transaction()
    @with_company
    def test_later_file_completes(self):
        "A later file fills the blank address; archived numbers stay taken"
        pool = Pool()
        Party = pool.get('party.party')
        Sequence = pool.get('ir.sequence')
        Configuration = pool.get('bol_air.configuration')
        # PostgreSQL sequences are not rolled back between tests
        Sequence.write(
            [Configuration(1).customer_sequence], {'number_next': 1})
        CustomerImport().run(ANNEX.read_bytes())
        header = ["N° client", "Nom", "Prénom", "Adresse", "CP", "Ville",
            "Courriel"]
        result = CustomerImport().run(xlsx([
                    header, [1, "REVEL", "Marie-Paule", "3 rue des Lilas",
                        "87000", "Limoges", "MP.Revel@example.com"]]))
        self.assertEqual(result.rows[0].status, 'updated')
        revel, = Party.search([('code', '=', '1')])
        self.assertEqual(
            [(a.street, a.postal_code, a.city) for a in revel.addresses],
            [("3 rue des Lilas", "87000", "Limoges")])
        # The same e-mail written otherwise is not added twice
        result = CustomerImport().run(xlsx([
                    header, [1, "REVEL", "Marie-Paule", None, "87000", None,
                        "mp.revel@EXAMPLE.com"]]))
        self.assertEqual(result.rows[0].status, 'unchanged')
        # New customers are numbered after the highest number imported
        sequence = Configuration(1).customer_sequence
        self.assertEqual(Sequence(sequence.id).number_next, 51)
        # An archived customer keeps her number
        Party.write(Party.search([('code', '=', '2')]), {'active': False})
        result = CustomerImport().run(xlsx([
                    header, [2, "AGNELLINI", "Valérie", None, None, None,
                        None]]))
        self.assertEqual(
            [c for _, c, _ in result.rows[0].errors], ['code_taken'])

    @with_transaction()
    @with_company
    def test_dry_run(self):
        "A dry run reports what would happen and writes nothing"
        result = CustomerImport().run(ANNEX.read_bytes(), dry_run=True)
        self.assertEqual(result.summary['created'], 41)
        self.assertEqual(self.customers(), [])
        report = openpyxl.load_workbook(io.BytesIO(result.report_xlsx()))
        self.assertEqual(report.worksheets[0].max_row, 42)

    @with_transaction()
    @with_company
    def test_unknown_columns(self):
        "Unknown columns are reported, not fatal"
        result = CustomerImport().run(xlsx([
                    ["NOM", "prénom", "Couleur préférée"],
                    ["PETIT", "Léa", "bleu"]]))
        self.assertEqual(result.unknown_columns, ["Couleur préférée"])
        self.assertEqual(len(self.customers()), 1)

    @with_transaction()
    @with_company
    def test_hostile_files(self):
        "Corrupt, truncated, oversized, protected and long files refused"
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        Party = pool.get('party.party')
        count = Party.search_count([])
        data = ANNEX.read_bytes()
        for content in [
                b"N\xc2\xb0 client;Nom\n1;REVEL\n",  # CSV
                data[:len(data) // 2],  # truncated
                b'\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1' + b'\0' * 600,  # protected
                b'',
                ]:
            with self.assertRaises(ImportFileError):
                CustomerImport().run(content)
        config = Configuration(1)
        config.import_max_rows = 10
        config.save()
        with self.assertRaises(ImportFileError) as cm:
            CustomerImport().run(data)
        self.assertIn("10", cm.exception.message)
        config.import_max_rows = 1000
        config.import_max_size = 0
        config.save()
        with self.assertRaises(ImportFileError):
            CustomerImport().run(data)
        self.assertEqual(Party.search_count([]), count)

    @with_transaction()
    @with_company
    def test_statement_count_grows_by_batches(self):
        "Importing 200 rows sends about as many statements as 10 rows"

        def letters(i):
            "Names differ by their letters, not by digits"
            return ''.join(chr(65 + int(d)) for d in f'{i:04d}')

        def rows(start, count):
            return xlsx([EXTENDED_HEADER] + [[
                        None, "Mme", f"NOM{letters(i)}", "Anne",
                        f"{i} rue Haute", "87000", "Limoges",
                        f"06 12 00 {i // 100 % 100:02d} {i % 100:02d}",
                        f"anne{i}@example.com", None, "Non", "Maryse Brun",
                        1, "100", None]
                    for i in range(start, start + count)])
        counts = []
        for data in [rows(0, 10), rows(1000, 200)]:
            with count_statements() as counter:
                CustomerImport().run(data)
            counts.append(counter.count)
        self.assertEqual(len(self.customers()), 210)
        # 190 more rows cost a few more batches, not a statement per row
        self.assertLess(counts[1] - counts[0], 10, counts)
        anne = self.customers()[-1]
        self.assertEqual(
            [c.type for c in anne.contact_mechanisms], ['email', 'mobile'])
        self.assertEqual(anne.addresses[0].city, "Limoges")
        self.assertTrue(anne.code_alnum)

    @with_transaction()
    @with_company
    def test_wizards(self):
        "The client's wizards check, import, and export a selection"
        pool = Pool()
        Import = pool.get('bol_air.customer.import', type='wizard')
        Export = pool.get('bol_air.customer.export', type='wizard')
        session_id, _, _ = Import.create()
        data = {'start': {
                'file': ANNEX.read_bytes(), 'filename': 'annexe2.xlsx',
                'partial': False}}
        result = Import.execute(session_id, data, 'check')
        checked = result['view']['defaults']
        self.assertTrue(checked['can_import'])
        self.assertIn("41 rows: 41 created", checked['summary'])
        self.assertEqual(self.customers(), [])
        result = Import.execute(session_id, data, 'import_')
        self.assertEqual(len(self.customers()), 41)
        Import.delete(session_id)

        selection = self.customers()[:3]
        with Transaction().set_context(
                active_model='party.party', active_id=selection[0].id,
                active_ids=[p.id for p in selection]):
            session_id, _, _ = Export.create()
            result = Export.execute(session_id, {}, 'start')
        exported = result['view']['defaults']
        self.assertEqual(exported['count'], 3)
        sheet = openpyxl.load_workbook(
            io.BytesIO(exported['file'])).worksheets[0]
        self.assertEqual(sheet.max_row, 4)

    @with_transaction()
    @with_company
    def test_export_import(self):
        "Export then import gives the same customers, formulas stay text"
        pool = Pool()
        Party = pool.get('party.party')
        CustomerImport().run(ANNEX.read_bytes())
        hostile, = Party.create([{
                    'crm_customer': True, 'last_name': '=HYPERLINK("x")',
                    'first_name': '@SUM(A1)', 'addresses': None}])
        data = export_xlsx(self.customers())
        sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
        values = [c.value for row in sheet.iter_rows() for c in row]
        self.assertFalse([v for v in values
                if isinstance(v, str) and v[:1] in '=+-@'])
        self.assertIn("'=HYPERLINK(\"x\")", values)
        # Into the same database: nothing changes
        result = CustomerImport().run(data)
        self.assertEqual(result.summary['created'], 0)
        Party.delete([hostile])
        # Into a company without customers: the same customers again
        before = sorted(
            (p.code, p.name, p.host_status, p.annual_revenue)
            for p in self.customers())
        Party.write(self.customers(), {'active': False})
        Party.delete(Party.search([
                    ('crm_customer', '=', True), ('active', '=', False)]))
        CustomerImport().run(export_xlsx_without(data, '=HYPERLINK'))
        after = sorted(
            (p.code, p.name, p.host_status, p.annual_revenue)
            for p in self.customers())
        self.assertEqual(before, after)


def export_xlsx_without(data, text):
    "The exported workbook without the rows containing the text"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    return xlsx([r for r in rows if not any(
                isinstance(v, str) and text in v for v in r)])
