# This file is part of bol_air_crm.
"""Fast tests of the cell cleaning of the customer import (no database)

Run with: python -m unittest bol_air_crm.tests.test_cleaning
"""
import datetime as dt
import unittest
from decimal import Decimal

from ..cleaning import (
    HEADER_KEYS, HEADER_SYNONYMS, CleaningError, _header_keys, clean_amount,
    clean_civility, clean_date, clean_email, clean_first_name, clean_integer,
    clean_last_name, clean_phone, clean_postal_code, clean_text, clean_yes_no,
    email_key, format_phone, header_field, match_headers, name_key,
    normalize_header, phone_key, safe_cell)

BLANKS = [None, '', ' ', '\t\n', '\xa0\u202f']


class CleaningTestCase(unittest.TestCase):
    "Test cell cleaning"

    def assertCleans(self, cleaner, cases, **kwargs):
        for value, expected in cases:
            with self.subTest(value=value):
                result = cleaner(value, **kwargs)
                self.assertEqual(result, expected)
                self.assertIs(type(result), type(expected))

    def assertRejects(self, cleaner, values, code, **kwargs):
        for value in values:
            with self.subTest(value=value):
                with self.assertRaises(CleaningError) as cm:
                    cleaner(value, **kwargs)
                self.assertEqual(cm.exception.code, code)
                self.assertEqual(cm.exception.params, {'value': value})

    def assertBlanks(self, cleaner, expected=None):
        self.assertCleans(cleaner, [(v, expected) for v in BLANKS])

    def test_cleaning_error(self):
        "CleaningError carries a code and parameters"
        error = CleaningError('invalid_amount', value="abc")
        self.assertIsInstance(error, Exception)
        self.assertEqual(error.code, 'invalid_amount')
        self.assertEqual(error.params, {'value': "abc"})

    def test_normalize_header(self):
        "Normalize header"
        for text, key in [
                ("N° client", 'nclient'),
                ("Nº client", 'nclient'),
                ("Code postal", 'codepostal'),
                ("Tél.", 'tel'),
                ("E-mail", 'email'),
                ("Date de naissance", 'datedenaissance'),
                ("  CHIFFRE d'affaires\xa0annuel ", 'chiffredaffairesannuel'),
                ("Nb_réunions", 'nbreunions'),
                (None, ''),
                (2024, '2024'),
                ]:
            with self.subTest(text=text):
                self.assertEqual(normalize_header(text), key)

    def test_header_synonyms(self):
        "Every synonym matches its field"
        for field, spellings in HEADER_SYNONYMS.items():
            for spelling in spellings:
                with self.subTest(spelling=spelling):
                    self.assertEqual(header_field(spelling), field)
        self.assertEqual(header_field("Nom Client"), 'last_name')
        self.assertEqual(header_field("NOM AMBASSADEUR"), 'ambassador')
        self.assertEqual(header_field("Chiffre d'affaires"), None)

    def test_header_synonyms_conflict(self):
        "A spelling for two fields is refused"
        with self.assertRaises(ValueError):
            _header_keys({'a': ["Nom"], 'b': ["NOM."]})
        self.assertEqual(HEADER_KEYS['nom'], 'last_name')

    def test_match_headers(self):
        "Match headers"
        mapping, unknown = match_headers([
                "N° client", "Civ.", "Nom Client", "Prénom", "Adresse",
                "CP", "Ville", "Tél.", "Mail", "Né le", "Hôtesse",
                "Nom Ambassadeur", "Nb réunions", "CA", "Origine",
                None, "", "Remarques", "Portable"])
        self.assertEqual(mapping, {
                0: 'code', 1: 'civility', 2: 'last_name', 3: 'first_name',
                4: 'street', 5: 'postal_code', 6: 'city', 7: 'phone',
                8: 'email', 9: 'birth_date', 10: 'host', 11: 'ambassador',
                12: 'meeting_count', 13: 'annual_revenue', 14: 'source',
                })
        self.assertEqual(unknown, [(17, "Remarques"), (18, "Portable")])

    def test_match_headers_duplicate(self):
        "A field matched twice keeps its first column"
        mapping, unknown = match_headers(["Nom", "Mobile", "Nom de famille"])
        self.assertEqual(mapping, {0: 'last_name', 1: 'phone'})
        self.assertEqual(unknown, [(2, "Nom de famille")])

    def test_clean_text(self):
        "Clean text"
        self.assertBlanks(clean_text)
        self.assertCleans(clean_text, [
                ("  Le   Bol\td'Air \n", "Le Bol d'Air"),
                ("1\xa0rue\u202fdes Lilas", "1 rue des Lilas"),
                ("Ze\u200bro", "Zero"),
                ("e\u0301cole", "école"),  # decomposed accent
                (42, "42"),
                (42.0, "42"),
                (4.5, "4.5"),
                (Decimal('12.00'), "12"),
                (Decimal('12.50'), "12.50"),
                (dt.date(2024, 3, 1), "2024-03-01"),
                (dt.datetime(2024, 3, 1), "2024-03-01"),
                ])

    def test_clean_last_name(self):
        "Clean last name"
        self.assertBlanks(clean_last_name)
        self.assertCleans(clean_last_name, [
                ("  le  goff ", "LE GOFF"),
                ("d'arc", "D'ARC"),
                ("d\u2019arc", "D'ARC"),
                ("müller-lüdenscheid", "MÜLLER-LÜDENSCHEID"),
                ("Dupont - Martin", "DUPONT-MARTIN"),
                ("Revel", "REVEL"),
                ])

    def test_clean_first_name(self):
        "Clean first name"
        self.assertBlanks(clean_first_name)
        self.assertCleans(clean_first_name, [
                ("MARIE-PAULE", "Marie-Paule"),
                ("jean  pierre", "Jean Pierre"),
                ("élodie", "Élodie"),
                ("anne-marie", "Anne-Marie"),
                ("JEAN\u2013PIERRE", "Jean-Pierre"),
                ("n'golo", "N'Golo"),
                ("marie de la croix", "Marie de la Croix"),
                ("jean d'ormesson", "Jean d'Ormesson"),
                ("marie le", "Marie Le"),
                ("j.-p.", "J.-P."),
                ])

    def test_clean_amount(self):
        "Clean amount"
        self.assertBlanks(clean_amount)
        self.assertCleans(clean_amount, [
                (1254, Decimal('1254.00')),
                (1254.0, Decimal('1254.00')),
                (0.1, Decimal('0.10')),
                (Decimal('12.345'), Decimal('12.35')),
                ("1 254", Decimal('1254.00')),
                ("1 254 €", Decimal('1254.00')),
                ("1254,50", Decimal('1254.50')),
                ("1 254,50 €", Decimal('1254.50')),
                ("1.254,50", Decimal('1254.50')),
                ("1,254.50", Decimal('1254.50')),
                ("1\u202f254", Decimal('1254.00')),
                ("1\xa0254", Decimal('1254.00')),
                ("1'254.50", Decimal('1254.50')),
                ("1 254 300,5", Decimal('1254300.50')),
                ("€ 89", Decimal('89.00')),
                ("89 EUR", Decimal('89.00')),
                ("89 euros", Decimal('89.00')),
                ("89€", Decimal('89.00')),
                ("-45", Decimal('-45.00')),
                ("- 45 €", Decimal('-45.00')),
                ("€ -45", Decimal('-45.00')),
                ("+45", Decimal('45.00')),
                ("-0", Decimal('0.00')),
                ("0,125", Decimal('0.13')),
                (",5", Decimal('0.50')),
                ("1254,500", Decimal('1254.50')),
                ("1 254.000", Decimal('1254.00')),
                ])
        self.assertEqual(str(clean_amount("-0")), '0.00')

    def test_clean_amount_invalid(self):
        "Clean invalid amount"
        self.assertRejects(clean_amount, [
                "abc", "12 54", "1.254", "1,254", "1.25.4", "1254.000,50",
                "12,", "+-4", "- € -4", "45 $", "1e5",
                "1,254,50", True, float('nan'), float('inf'),
                Decimal('NaN'), Decimal('1E+30'), dt.date(2024, 1, 1),
                ], 'invalid_amount')

    def test_clean_postal_code(self):
        "Clean postal code"
        self.assertBlanks(clean_postal_code)
        self.assertCleans(clean_postal_code, [
                (7000, "07000"),
                ("7000", "07000"),
                (87000, "87000"),
                (87000.0, "87000"),
                ("87 000", "87000"),
                (" 87000\xa0", "87000"),
                ("97400", "97400"),
                ])
        self.assertRejects(clean_postal_code, [
                "870", 870, "870000", "87OOO", "00123", 87000.5, -7000,
                "F-87000", True, "８７０００", dt.date(2024, 1, 1),
                ], 'invalid_postcode')

    def test_clean_phone(self):
        "Clean phone"
        self.assertBlanks(clean_phone)
        e164 = "+33612345678"
        self.assertCleans(clean_phone, [
                ("06 12 34 56 78", e164),
                ("06.12.34.56.78", e164),
                ("06-12-34-56-78", e164),
                ("0612345678", e164),
                ("+33 6 12 34 56 78", e164),
                ("+33 (0)6 12 34 56 78", e164),
                ("0033612345678", e164),
                ("(0)6 12 34 56 78", e164),
                ("612345678", e164),
                (612345678, e164),
                (612345678.0, e164),
                (33612345678, e164),
                ("01 23 45 67 89", "+33123456789"),
                ("0262 12 34 56", "+262262123456"),
                ("+32 470 12 34 56", "+32470123456"),
                ])
        self.assertRejects(clean_phone, [
                "06 12 34 56", "12345", "06 CALL ME 12", "0612345678 ext 12",
                "06 12 34 56 78 / 01 23 45 67 89", "00 00 00 00 00", 12345,
                -612345678, 6123.5, True, dt.date(2024, 1, 1),
                ], 'invalid_phone')

    def test_format_phone(self):
        "Format phone"
        self.assertEqual(format_phone("+33612345678"), "06 12 34 56 78")
        self.assertEqual(format_phone("+262262123456"), "0262 12 34 56")
        self.assertEqual(format_phone("+32470123456"), "+32 470 12 34 56")
        self.assertEqual(format_phone(None), None)
        self.assertEqual(format_phone("unknown"), "unknown")

    def test_clean_email(self):
        "Clean e-mail"
        self.assertBlanks(clean_email)
        self.assertCleans(clean_email, [
                (" Marie.Revel@Orange.FR ", "marie.revel@orange.fr"),
                ("marie@orange.fr.", "marie@orange.fr"),
                ("marie@orange.fr,", "marie@orange.fr"),
                ("mailto:Marie@orange.fr", "marie@orange.fr"),
                ("MAILTO:marie@orange.fr;", "marie@orange.fr"),
                ("Marie Revel <marie@orange.fr>", "marie@orange.fr"),
                ("marie.paule+bol@sub.example.co.uk",
                    "marie.paule+bol@sub.example.co.uk"),
                ])
        self.assertRejects(clean_email, [
                "marie", "marie@orange", "marie@@orange.fr",
                "marie@orange,fr", "marie revel@orange.fr",
                "marie..revel@orange.fr", ".marie@orange.fr",
                "élodie@orange.fr", "marie@-orange.fr",
                "a@orange.fr; b@orange.fr", "x" * 65 + "@orange.fr",
                "marie@" + "a" * 250 + ".fr", 42,
                ], 'invalid_email')

    def test_clean_date(self):
        "Clean date"
        self.assertBlanks(clean_date)
        today = dt.date(2026, 5, 9)
        self.assertCleans(clean_date, [
                (dt.date(1985, 3, 12), dt.date(1985, 3, 12)),
                (dt.datetime(1985, 3, 12, 10, 30), dt.date(1985, 3, 12)),
                ("12/03/1985", dt.date(1985, 3, 12)),
                ("2/3/1985", dt.date(1985, 3, 2)),
                ("12-03-1985", dt.date(1985, 3, 12)),
                ("12.03.1985", dt.date(1985, 3, 12)),
                ("1985-03-12", dt.date(1985, 3, 12)),
                ("1985-03-12 00:00:00", dt.date(1985, 3, 12)),
                ("12/03/1985 10:30", dt.date(1985, 3, 12)),
                ("12031985", dt.date(1985, 3, 12)),
                ("12/03/85", dt.date(1985, 3, 12)),
                ("12/03/26", dt.date(2026, 3, 12)),
                ("12/03/27", dt.date(1927, 3, 12)),
                ("12/03/05", dt.date(2005, 3, 12)),
                ("29/02/2000", dt.date(2000, 2, 29)),
                (31048, dt.date(1985, 1, 1)),
                (31048.75, dt.date(1985, 1, 1)),
                (61, dt.date(1900, 3, 1)),
                (dt.date(2030, 1, 1), dt.date(2030, 1, 1)),
                ], today=today)
        self.assertRejects(clean_date, [
                "31/02/2000", "29/02/1900", "12/13/1985", "00/01/1985",
                "12/03-1985", "12/03/985", "1985", "hier", 60, -5,
                10 ** 9, float('nan'), True,
                ], 'invalid_date', today=today)

    def test_clean_date_past_only(self):
        "Clean date in the past"
        today = dt.date(2026, 5, 9)
        self.assertCleans(clean_date, [
                ("09/05/2026", today),
                (None, None),
                ], past_only=True, today=today)
        self.assertRejects(clean_date, [
                "10/05/2026", dt.date(2030, 1, 1), 73051,
                ], 'invalid_date', past_only=True, today=today)
        # default today is the current date
        with self.assertRaises(CleaningError):
            clean_date(dt.date.today() + dt.timedelta(days=1), past_only=True)

    def test_clean_yes_no(self):
        "Clean yes/no"
        self.assertBlanks(clean_yes_no, False)
        self.assertCleans(clean_yes_no, [
                (v, True) for v in [
                    "oui", "OUI", "Oui.", "o", "yes", "Y", "x", "X", "Vrai",
                    "true", "1", 1, 1.0, True]])
        self.assertCleans(clean_yes_no, [
                (v, False) for v in [
                    "non", "NON", "n", "no", "Faux", "false", "0", 0, 0.0,
                    False]])
        self.assertRejects(clean_yes_no, [
                "peut-être", "ouais", "2", 2, -1, dt.date(2024, 1, 1),
                ], 'invalid_boolean')

    def test_clean_integer(self):
        "Clean integer"
        self.assertBlanks(clean_integer)
        self.assertCleans(clean_integer, [
                ("3", 3), (3, 3), (3.0, 3), (" 12 ", 12), ("1 254", 1254),
                ("3,0", 3), (Decimal('4'), 4), (0, 0), ("+2", 2),
                ])
        self.assertRejects(clean_integer, [
                "-3", -3, "3.5", 3.5, "trois", float('nan'), float('inf'),
                Decimal('NaN'), True, dt.date(2024, 1, 1),
                ], 'invalid_number')

    def test_clean_civility(self):
        "Clean civility"
        self.assertBlanks(clean_civility)
        self.assertCleans(clean_civility, [
                ("Mme", 'mme'), ("Madame", 'mme'), ("Mlle", 'mme'),
                ("MME.", 'mme'), ("Mademoiselle", 'mme'),
                ("M", 'm'), ("M.", 'm'), ("Mr", 'm'), ("Monsieur", 'm'),
                (" monsieur ", 'm'),
                ])
        self.assertRejects(clean_civility, [
                "M. et Mme", "Dr", "Maître", 1,
                ], 'invalid_civility')

    def test_name_key(self):
        "Name key"
        key = name_key("REVEL", "Marie-Paule")
        self.assertEqual(key, 'revel|mariepaule')
        for last_name, first_name in [
                ("Revel", "marie paule"),
                ("revel", "Marie-Paule"),
                (" RÉVEL ", "MARIE  PAULE"),
                ("Re-vel", "marie'paule"),
                ]:
            with self.subTest(name=(last_name, first_name)):
                self.assertEqual(name_key(last_name, first_name), key)
        self.assertEqual(name_key("CŒUR", "Zoé"), name_key("Coeur", "zoe"))
        self.assertEqual(name_key("D'ARC", None), 'darc|')
        self.assertEqual(name_key(None, "Marie"), None)
        self.assertEqual(name_key(" - ", "Marie"), None)
        self.assertNotEqual(
            name_key("REVEL", "Marie"), name_key("REVEL", "Marie-Paule"))

    def test_email_key(self):
        "E-mail key"
        self.assertEqual(
            email_key(" Marie.Revel@Gmail.com. "), 'marie.revel@gmail.com')
        self.assertNotEqual(
            email_key("marie.revel@gmail.com"),
            email_key("marierevel@gmail.com"))
        self.assertEqual(email_key(None), None)
        self.assertEqual(email_key("not an e-mail"), None)

    def test_phone_key(self):
        "Phone key"
        self.assertEqual(phone_key("06 12 34 56 78"), "+33612345678")
        self.assertEqual(phone_key(612345678), "+33612345678")
        self.assertEqual(phone_key("+33612345678"), "+33612345678")
        self.assertEqual(phone_key(""), None)
        self.assertEqual(phone_key("123"), None)

    def test_safe_cell(self):
        "Safe cell"
        for value, expected in [
                ("=1+2", "'=1+2"),
                ("+33612345678", "'+33612345678"),
                ("-45", "'-45"),
                ("@SUM(A1)", "'@SUM(A1)"),
                ("\t=1+2", "'\t=1+2"),
                ("\r=1+2", "'\r=1+2"),
                ("  =1+2", "'  =1+2"),
                ("\n-1", "'\n-1"),
                ("\uff1d1+2", "'\uff1d1+2"),
                ("Marie-Paule", "Marie-Paule"),
                ("06 12 34 56 78", "06 12 34 56 78"),
                ("", ""),
                (None, None),
                (-45, -45),
                (Decimal('-45.00'), Decimal('-45.00')),
                (dt.date(2024, 1, 1), dt.date(2024, 1, 1)),
                ]:
            with self.subTest(value=value):
                self.assertEqual(safe_cell(value), expected)
        self.assertEqual(
            safe_cell(format_phone("+33612345678")), "06 12 34 56 78")


if __name__ == '__main__':
    unittest.main()
