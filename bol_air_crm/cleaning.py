# This file is part of bol_air_crm.
"""Cleaning of spreadsheet cells for the customer import.

Pure Python, usable without a database: every cleaner takes a raw cell
value as openpyxl returns it (str, int, float, Decimal, bool, datetime,
date or None) and returns the clean value or raises ``CleaningError``.

A blank cell (None, empty or whitespace only text) gives None for every
cleaner, except ``clean_yes_no`` which gives False.

``CleaningError.code`` is a symbol and ``CleaningError.params`` holds the
raw ``value``; the caller turns them into a translated message.  This
module holds no text for users.

The functions run on every cell of large files: regular expressions and
tables are built once at import time.
"""
import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import phonenumbers

# Error codes
INVALID_AMOUNT = 'invalid_amount'
INVALID_POSTCODE = 'invalid_postcode'
INVALID_PHONE = 'invalid_phone'
INVALID_EMAIL = 'invalid_email'
INVALID_DATE = 'invalid_date'
INVALID_BOOLEAN = 'invalid_boolean'
INVALID_NUMBER = 'invalid_number'
INVALID_CIVILITY = 'invalid_civility'


class CleaningError(Exception):
    "A cell value that cannot be cleaned"

    def __init__(self, code, **params):
        super().__init__(code, params)
        self.code = code
        self.params = params


# Characters that are not whitespace for str.split() but are invisible
_INVISIBLE = dict.fromkeys(map(ord, '\u200b\u200c\u200d\u2060\ufeff\xad'))


def _is_blank(value):
    return value is None or (isinstance(value, str) and not value.strip())


def _strip_accents(text):
    if text.isascii():
        return text
    return ''.join(c for c in unicodedata.normalize('NFKD', text)
        if not unicodedata.combining(c))


# Headers
# -------

# Removed before the NFKD decomposition which would turn them into letters
_HEADER_SIGNS = dict.fromkeys(map(ord, '°ºª'))
_NON_ALNUM = re.compile(r'[\W_]+')


def normalize_header(text):
    """Return the key used to match a column header

    Accents, case, punctuation, spaces and the degree and ordinal signs are
    dropped: "N° client" -> 'nclient', "Tél." -> 'tel'.
    """
    if text is None:
        return ''
    text = str(text).translate(_HEADER_SIGNS)
    text = _strip_accents(text).lower()
    return _NON_ALNUM.sub('', text)


HEADER_SYNONYMS = {
    'code': [
        "N° client", "N°", "No client", "Numéro client", "Num client",
        "Code client", "Numero"],
    'civility': ["Civilité", "Civ", "Titre"],
    'last_name': ["Nom", "Nom client", "Nom de famille"],
    'first_name': ["Prénom", "Prenom"],
    'street': ["Adresse", "Rue", "Adresse postale"],
    'postal_code': ["Code postal", "CP", "Code post"],
    'city': ["Ville", "Commune", "Localité"],
    'phone': [
        "Téléphone", "Tél", "Tel", "Tél.", "Portable", "Mobile", "GSM",
        "Téléphone portable"],
    'email': ["E-mail", "Email", "Courriel", "Mail", "Adresse e-mail"],
    'birth_date': ["Date de naissance", "Naissance", "Né le", "Née le"],
    'host': ["Hôte", "Hote", "Hôtesse"],
    'ambassador': ["Ambassadeur", "Nom ambassadeur", "Ambassadrice"],
    'meeting_count': ["Nombre de réunions", "Nb réunions", "Réunions"],
    'annual_revenue': ["CA annuel", "CA", "Chiffre d'affaires annuel"],
    'source': ["Source", "Origine"],
    }


def _header_keys(synonyms):
    keys = {}
    for field, spellings in synonyms.items():
        for spelling in spellings:
            key = normalize_header(spelling)
            if keys.setdefault(key, field) != field:
                raise ValueError(
                    f"Header {spelling!r} matches {keys[key]!r} "
                    f"and {field!r}")
    return keys


# Normalised header -> field.  Matching is exact on the normalised key, so
# "Nom ambassadeur" gives 'ambassador' and never the 'last_name' of "Nom".
HEADER_KEYS = _header_keys(HEADER_SYNONYMS)


def header_field(text):
    "Return the field of a header text or None"
    return HEADER_KEYS.get(normalize_header(text))


def match_headers(headers):
    """Match the header row with the fields

    ``headers`` is the sequence of header cells (index 0 is the first
    column).  Return ``(mapping, unknown)``: ``mapping`` is
    ``{column index: field}``, ``unknown`` is the list of
    ``(column index, header)`` not matched, including a field seen again
    after its first column (tell them apart with ``header_field``).
    Blank header cells are ignored.
    """
    mapping, unknown, seen = {}, [], set()
    for index, header in enumerate(headers):
        if _is_blank(header):
            continue
        field = header_field(header)
        if field is None or field in seen:
            unknown.append((index, header))
        else:
            seen.add(field)
            mapping[index] = field
    return mapping, unknown


# Text and names
# --------------

def _integral(value):
    "Return the int of an integral number or None"
    try:
        number = int(value)
    except (ValueError, OverflowError, InvalidOperation):
        return None
    return number if number == value else None


def _number_text(value):
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, Decimal):
        if value.is_finite() and value == value.to_integral_value():
            return str(int(value))
        return str(value)
    return str(value)


def clean_text(value):
    """Return the text of the cell, trimmed, with each run of whitespace
    (tabs, new lines, no-break spaces) as one space"""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
        if not text.isascii():
            text = unicodedata.normalize('NFC', text.translate(_INVISIBLE))
    elif isinstance(value, dt.datetime):
        if value.time() == dt.time():
            text = value.date().isoformat()
        else:
            text = value.isoformat(' ')
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, (int, float, Decimal)) and (
            not isinstance(value, bool)):
        text = _number_text(value)
    else:
        text = str(value)
    text = ' '.join(text.split())
    return text or None


_APOSTROPHES = dict.fromkeys(map(ord, '\u2019\u2018\u02bc\u00b4`'), "'")
_SPACED_HYPHEN = re.compile(r" ?[-\u2010\u2011\u2013] ?")


def _clean_name(value):
    text = clean_text(value)
    if text is None:
        return None
    if not text.isascii():
        text = text.translate(_APOSTROPHES)
    if '-' in text or not text.isascii():
        text = _SPACED_HYPHEN.sub('-', text)
    return text


def clean_last_name(value):
    """Return the last name in upper case, keeping accents, hyphens and
    apostrophes: "  le  goff " -> "LE GOFF" """
    text = _clean_name(value)
    return text.upper() if text is not None else None


_NAME_PARTS = re.compile(r"([ '-])")
_PARTICLES = {'de', 'du', 'des', 'la', 'le'}


def clean_first_name(value):
    """Return the first name with each part capitalised:
    "MARIE-PAULE" -> "Marie-Paule", "élodie" -> "Élodie"

    The parts are separated by a space, a hyphen or an apostrophe; "de",
    "du", "des", "la", "le" standing as separate words and "d'" stay in
    lower case unless they come first.
    """
    text = _clean_name(value)
    if text is None:
        return None
    parts = _NAME_PARTS.split(text.lower())
    # parts alternates words (even indexes) and separators (odd indexes)
    last = len(parts) - 1
    for i in range(0, len(parts), 2):
        word = parts[i]
        if not word:
            continue
        if i > 0 and parts[i - 1] == ' ':
            after = parts[i + 1] if i < last else ''
            if ((word in _PARTICLES and after == ' ')
                    or (word == 'd' and after == "'")):
                continue
        parts[i] = word[0].upper() + word[1:]
    return ''.join(parts)


# Numbers
# -------

_CENT = Decimal('0.01')
_AMOUNT = re.compile(
    r"(?P<sign>[-+]?) ?(?:€|eur|euros?)? ?(?P<sign2>[-+]?) ?"
    r"(?P<number>\d(?:[\d .,']*\d)?|[.,]\d+) ?(?:€|eur|euros?)?")
_GROUPS = re.compile(r"[1-9]\d{0,2}(?:[ .,']\d{3})*")
_DIGITS = re.compile(r'\d+')


def _parse_number_text(number):
    """Return the Decimal text of number which is made of digits and
    separators (space, dot, comma, apostrophe) or None"""
    decimal = ''
    if ',' in number and '.' in number:
        decimal = max(',', '.', key=number.rindex)
    else:
        for sep in ',.':
            count = number.count(sep)
            if count == 1:
                head, tail = number.split(sep)
                if (len(tail) != 3 or ' ' in head or "'" in head
                        or not _GROUPS.fullmatch(head)):
                    decimal = sep
                else:
                    # "1.254" or "1,254": thousands or decimals
                    return None
    if decimal:
        integer, _, fraction = number.rpartition(decimal)
        if not _DIGITS.fullmatch(fraction):
            return None
    else:
        integer, fraction = number, ''
    if integer and not _DIGITS.fullmatch(integer):
        # thousands separators: one kind, groups of 3 digits
        seps = set(integer) - set('0123456789')
        if len(seps) > 1 or not _GROUPS.fullmatch(integer):
            return None
        integer = integer.replace(seps.pop(), '')
    return f'{integer or 0}.{fraction or 0}'


def clean_amount(value):
    """Return the amount as a Decimal rounded to the cent

    The text may have thousands separators (spaces, no-break spaces, dots,
    commas, apostrophes), a decimal comma or dot, a sign and "€" or "EUR".
    When both "," and "." appear, the last one is the decimal separator.
    A single "," or "." followed by exactly 3 digits ("1.254") is
    ambiguous and rejected.
    """
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise CleaningError(INVALID_AMOUNT, value=value)
    if isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(str(value))
    elif isinstance(value, Decimal):
        amount = value
    elif isinstance(value, str):
        text = ' '.join(value.lower().split())
        match = _AMOUNT.fullmatch(text)
        number = match and _parse_number_text(match['number'])
        if not number or (match['sign'] and match['sign2']):
            raise CleaningError(INVALID_AMOUNT, value=value)
        sign = '-' if '-' in (match['sign'], match['sign2']) else ''
        amount = Decimal(sign + number)
    else:
        raise CleaningError(INVALID_AMOUNT, value=value)
    if not amount.is_finite():
        raise CleaningError(INVALID_AMOUNT, value=value)
    try:
        amount = amount.quantize(_CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exception:
        raise CleaningError(INVALID_AMOUNT, value=value) from exception
    if not amount:
        amount = abs(amount)  # no "-0.00"
    return amount


_INTEGER = re.compile(r'\+?(\d+)(?:[.,]0*)?')


def clean_integer(value):
    "Return the value as an int >= 0: \" 12 \" -> 12, 3.0 -> 3"
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise CleaningError(INVALID_NUMBER, value=value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, (float, Decimal)):
        number = _integral(value)
        if number is None:
            raise CleaningError(INVALID_NUMBER, value=value)
    elif isinstance(value, str):
        match = _INTEGER.fullmatch(''.join(value.split()))
        if not match:
            raise CleaningError(INVALID_NUMBER, value=value)
        number = int(match.group(1))
    else:
        raise CleaningError(INVALID_NUMBER, value=value)
    if number < 0:
        raise CleaningError(INVALID_NUMBER, value=value)
    return number


# Address
# -------

def clean_postal_code(value):
    """Return the French postal code as 5 digits

    Excel drops the leading zero: 7000 -> "07000".
    """
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise CleaningError(INVALID_POSTCODE, value=value)
    if isinstance(value, (int, float, Decimal)):
        number = _integral(value)
        if number is None or number < 0:
            raise CleaningError(INVALID_POSTCODE, value=value)
        text = str(number)
    elif isinstance(value, str):
        text = ''.join(value.split())
    else:
        raise CleaningError(INVALID_POSTCODE, value=value)
    if not (text.isascii() and text.isdigit() and 4 <= len(text) <= 5):
        raise CleaningError(INVALID_POSTCODE, value=value)
    text = text.zfill(5)
    if text.startswith('00'):
        raise CleaningError(INVALID_POSTCODE, value=value)
    return text


# Phone
# -----

_PHONE_REGION = 'FR'
# Overseas departments and territories of the French numbering plan, dialed
# from France with a leading 0 (e.g. "0262 ..." for La Réunion)
_PHONE_OVERSEAS_REGIONS = ('RE', 'YT', 'GP', 'MQ', 'GF', 'BL', 'MF', 'PM')
_PHONE_NATIONAL_REGIONS = {_PHONE_REGION, *_PHONE_OVERSEAS_REGIONS}
_HAS_LETTER = re.compile(r'[^\W\d_]')
_E164 = phonenumbers.PhoneNumberFormat.E164


def _parse_phone(text, region):
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return number
    return None


def clean_phone(value):
    """Return the phone number in E.164 format: "06 12 34 56 78" ->
    "+33612345678"

    National numbers are French (or from French overseas departments).
    A number of 9 digits is a French number whose leading 0 was dropped by
    Excel.
    """
    if _is_blank(value):
        return None
    if isinstance(value, bool):
        raise CleaningError(INVALID_PHONE, value=value)
    if isinstance(value, (int, float, Decimal)):
        number = _integral(value)
        if number is None or number <= 0:
            raise CleaningError(INVALID_PHONE, value=value)
        digits = str(number)
        text = '0' + digits if len(digits) == 9 else '+' + digits
    elif isinstance(value, str):
        text = value.strip()
        if _HAS_LETTER.search(text):
            # phonenumbers would read letters as digits of a keypad
            raise CleaningError(INVALID_PHONE, value=value)
    else:
        raise CleaningError(INVALID_PHONE, value=value)
    number = _parse_phone(text, _PHONE_REGION)
    if number is None and text.lstrip(' (').startswith('0'):
        for region in _PHONE_OVERSEAS_REGIONS:
            number = _parse_phone(text, region)
            if number is not None:
                break
    if number is None:
        raise CleaningError(INVALID_PHONE, value=value)
    return phonenumbers.format_number(number, _E164)


def format_phone(e164):
    """Return the phone number for people and spreadsheets

    French numbers (metropolitan and overseas) are in national format
    "06 12 34 56 78", other ones in international format
    "+32 470 12 34 56" (which still needs ``safe_cell`` in an export).
    A value that is not a phone number is returned unchanged.
    """
    if _is_blank(e164):
        return None
    try:
        number = phonenumbers.parse(str(e164), _PHONE_REGION)
    except phonenumbers.NumberParseException:
        return e164
    if phonenumbers.region_code_for_number(number) in (
            _PHONE_NATIONAL_REGIONS):
        format_ = phonenumbers.PhoneNumberFormat.NATIONAL
    else:
        format_ = phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(number, format_)


# E-mail
# ------

_EMAIL_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LABEL = r'[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
_EMAIL = re.compile(
    rf'{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*@(?:{_EMAIL_LABEL}\.)+[a-z]{{2,63}}')
_EMAIL_BRACKETS = re.compile(r'<([^<>]*)>')
_EMAIL_TRAILING = ' .,;:'


def clean_email(value):
    """Return the e-mail address in lower case

    "mailto:", angle brackets around the address ("Marie <m@x.fr>") and
    trailing dots, commas or semicolons are removed.  Addresses with
    non-ASCII characters are rejected.
    """
    if _is_blank(value):
        return None
    if not isinstance(value, str):
        raise CleaningError(INVALID_EMAIL, value=value)
    text = value.strip().lower()
    match = _EMAIL_BRACKETS.search(text)
    if match:
        text = match.group(1)
    text = text.strip().rstrip(_EMAIL_TRAILING)
    if text.startswith('mailto:'):
        text = text[len('mailto:'):].strip()
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise CleaningError(INVALID_EMAIL, value=value)
    local = text.partition('@')[0]
    if len(local) > 64:
        raise CleaningError(INVALID_EMAIL, value=value)
    return text


# Date
# ----

_EXCEL_EPOCH = dt.date(1899, 12, 30)
# Excel believes 1900-02-29 exists (serial 60): earlier serials are shifted
_EXCEL_FIRST_SERIAL = 61
_TIME = r'(?:[ t]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?'
_DATE_DMY = re.compile(
    r'(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})' + _TIME)
_DATE_YMD = re.compile(r'(\d{4})([/.-])(\d{1,2})\2(\d{1,2})' + _TIME)
_DATE_COMPACT = re.compile(r'(\d{2})(\d{2})(\d{4})')  # DDMMYYYY
# pattern, indexes of the day, month and year groups
_DATE_FORMATS = [
    (_DATE_DMY, (1, 3, 4)),
    (_DATE_YMD, (4, 3, 1)),
    (_DATE_COMPACT, (1, 2, 3)),
    ]


def clean_date(value, past_only=False, today=None):
    """Return the value as a date

    Accept date and datetime, Excel serial numbers (days since 1899-12-30),
    "DD/MM/YYYY" (also with "-" or "." and 1 digit day or month),
    "DDMMYYYY" and "YYYY-MM-DD".  A year of 2 digits is in the current
    century unless it is after the current year.  With ``past_only``, a
    date after ``today`` (default: the current date) is rejected.
    """
    if _is_blank(value):
        return None
    if today is None:
        today = dt.date.today()
    if isinstance(value, dt.datetime):
        date = value.date()
    elif isinstance(value, dt.date):
        date = value
    elif isinstance(value, bool):
        raise CleaningError(INVALID_DATE, value=value)
    elif isinstance(value, (int, float, Decimal)):
        try:
            serial = int(value)
            date = _EXCEL_EPOCH + dt.timedelta(days=serial)
        except (ValueError, OverflowError) as exception:
            raise CleaningError(INVALID_DATE, value=value) from exception
        if serial < _EXCEL_FIRST_SERIAL:
            raise CleaningError(INVALID_DATE, value=value)
    elif isinstance(value, str):
        text = value.strip().lower()
        for pattern, groups in _DATE_FORMATS:
            match = pattern.fullmatch(text)
            if match:
                day, month, year = match.group(*groups)
                break
        else:
            raise CleaningError(INVALID_DATE, value=value)
        if len(year) == 2:
            century = today.year // 100 * 100
            if int(year) > today.year % 100:
                century -= 100
            year = century + int(year)
        try:
            date = dt.date(int(year), int(month), int(day))
        except ValueError as exception:
            raise CleaningError(INVALID_DATE, value=value) from exception
    else:
        raise CleaningError(INVALID_DATE, value=value)
    if past_only and date > today:
        raise CleaningError(INVALID_DATE, value=value)
    return date


# Choices
# -------

_YES = {'oui', 'o', 'yes', 'y', 'x', 'vrai', 'true', '1'}
_NO = {'non', 'n', 'no', 'faux', 'false', '0'}


def clean_yes_no(value):
    "Return the value as a bool; a blank cell is False"
    if _is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float, Decimal)):
        if value == 1:
            return True
        if value == 0:
            return False
        raise CleaningError(INVALID_BOOLEAN, value=value)
    if isinstance(value, str):
        key = normalize_header(value)
        if key in _YES:
            return True
        if key in _NO:
            return False
    raise CleaningError(INVALID_BOOLEAN, value=value)


_CIVILITIES = {
    'mme': 'mme',
    'madame': 'mme',
    'mlle': 'mme',
    'mademoiselle': 'mme',
    'mrs': 'mme',
    'ms': 'mme',
    'm': 'm',
    'mr': 'm',
    'monsieur': 'm',
    }


def clean_civility(value):
    "Return 'mme' (Madame, Mademoiselle), 'm' (Monsieur) or None"
    if _is_blank(value):
        return None
    if isinstance(value, str):
        civility = _CIVILITIES.get(normalize_header(value))
        if civility:
            return civility
    raise CleaningError(INVALID_CIVILITY, value=value)


# Keys to find duplicates
# -----------------------

_KEY_LETTERS = str.maketrans({'œ': 'oe', 'æ': 'ae'})


def _letters_key(text):
    if text is None:
        return ''
    text = str(text).casefold()
    if not text.isascii():
        text = _strip_accents(text.translate(_KEY_LETTERS))
    return ''.join(filter(str.isalpha, text))


def name_key(last_name, first_name):
    """Return the key to compare names: "REVEL", "Marie-Paule" and
    "revel", "marie paule" give 'revel|mariepaule'

    Return None when the last name has no letter.
    """
    last = _letters_key(last_name)
    if not last:
        return None
    return f'{last}|{_letters_key(first_name)}'


def email_key(email):
    "Return the key to compare e-mails or None when blank or invalid"
    try:
        return clean_email(email)
    except CleaningError:
        return None


def phone_key(phone):
    "Return the key to compare phones or None when blank or invalid"
    try:
        return clean_phone(phone)
    except CleaningError:
        return None


# Export
# ------

_FORMULA_STARTS = ('=', '+', '-', '@', '\t', '\r',
    '\uff1d', '\uff0b', '\uff0d', '\uff20')


def safe_cell(value):
    """Return the value to write in a spreadsheet cell for an export

    A text that a spreadsheet could evaluate as a formula (starting with
    "=", "+", "-", "@", a tab or a carriage return, also after leading
    spaces or new lines) gets a leading "'", so it stays text; openpyxl
    then writes it as a string, not as a formula.  Write phones with
    ``format_phone`` rather than in E.164 ("+33..."), which would get the
    quote.  Other values are returned unchanged.
    """
    if isinstance(value, str) and value and (
            value.startswith(_FORMULA_STARTS)
            or value.lstrip().startswith(_FORMULA_STARTS)):
        return "'" + value
    return value
