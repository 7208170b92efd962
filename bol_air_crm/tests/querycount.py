# This file is part of bol_air_crm.
"""Count the SQL statements a piece of code sends, on any backend.

    with count_statements() as counter:
        Party.read(ids, names)
    counter.count, counter.statements
"""
from contextlib import contextmanager

from trytond.transaction import Transaction


class _Cursor:
    def __init__(self, cursor, counter):
        self._cursor = cursor
        self._counter = counter

    def execute(self, *args, **kwargs):
        self._counter.count += 1
        self._counter.statements.append(str(args[0]) if args else '')
        return self._cursor.execute(*args, **kwargs)

    def executemany(self, *args, **kwargs):
        self._counter.count += 1
        self._counter.statements.append(str(args[0]) if args else '')
        return self._cursor.executemany(*args, **kwargs)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class _Connection:
    def __init__(self, connection):
        self._connection = connection
        self.count = 0
        self.statements = []  # their SQL text

    def count_except_inserts(self, table):
        """The statements but the INSERTs into table: Tryton creates the
        records of a batch in one INSERT on PostgreSQL, one by one on
        SQLite (ids come from its autoincrement)"""
        return sum(1 for s in self.statements
            if not s.startswith(f'INSERT INTO "{table}"'))

    def cursor(self, *args, **kwargs):
        return _Cursor(self._connection.cursor(*args, **kwargs), self)

    def __getattr__(self, name):
        return getattr(self._connection, name)


@contextmanager
def count_statements():
    transaction = Transaction()
    connection = transaction.connection
    counter = _Connection(connection)
    transaction.connection = counter
    try:
        yield counter
    finally:
        transaction.connection = connection
