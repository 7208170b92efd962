# This file is part of bol_air_gdpr.
"""Test helpers: find where a person's details are still written in the
database, whatever module stored them."""
from trytond import backend
from trytond.transaction import Transaction

TEXT_TYPES = {
    'postgresql': {'character varying', 'text', 'character', 'json',
        'jsonb'},
    'sqlite': {'VARCHAR', 'TEXT', 'CHAR', 'CLOB', 'JSON'},
    }


def text_columns():
    "Every (table, column) of the database holding text"
    cursor = Transaction().connection.cursor()
    if backend.name == 'postgresql':
        cursor.execute(
            "SELECT table_name, column_name, data_type "
            "FROM information_schema.columns "
            "WHERE table_schema = current_schema() "
            "ORDER BY table_name, column_name")
        return [(t, c) for t, c, type_ in cursor.fetchall()
            if type_ in TEXT_TYPES['postgresql']]
    cursor.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    columns = []
    for table, in cursor.fetchall():
        cursor.execute(f'PRAGMA table_info("{table}")')
        for _, column, type_, *_ in cursor.fetchall():
            if type_.split('(')[0].upper() in TEXT_TYPES['sqlite']:
                columns.append((table, column))
    return columns


def find_text(*needles):
    """The (table, column, needle) of the text columns where one of the
    needles (case-insensitive) is found"""
    cursor = Transaction().connection.cursor()
    found = []
    for table, column in text_columns():
        for needle in needles:
            cursor.execute(
                f'SELECT COUNT(*) FROM "{table}" '
                f'WHERE LOWER(CAST("{column}" AS TEXT)) LIKE %s'
                if backend.name == 'postgresql' else
                f'SELECT COUNT(*) FROM "{table}" '
                f'WHERE LOWER("{column}") LIKE ?',
                ('%' + needle.lower() + '%',))
            if cursor.fetchone()[0]:
                found.append((table, column, needle))
    return found
