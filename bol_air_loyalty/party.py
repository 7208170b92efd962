# This file is part of bol_air_loyalty.
from sql import Literal
from sql.conditionals import Coalesce

from trytond import backend
from trytond.model import fields
from trytond.pool import Pool, PoolMeta
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    loyalty_account = fields.Function(
        fields.Many2One('bol_air.loyalty.account', "Loyalty Card"),
        'get_loyalty', searcher='search_loyalty_account')
    loyalty_balance = fields.Function(
        fields.Integer(
            "Points", help="Points available on the loyalty card."),
        'get_loyalty', searcher='search_loyalty_balance')

    @classmethod
    def get_loyalty(cls, parties, names):
        "Card and balance of all the parties in one query"
        pool = Pool()
        Account = pool.get('bol_air.loyalty.account')
        account = Account.__table__()
        cursor = Transaction().connection.cursor()
        result = {n: dict.fromkeys([p.id for p in parties]) for n in names}
        for sub_ids in grouped_slice(parties, backend.MAX_QUERY_PARAMS):
            cursor.execute(*account.select(
                    account.party, account.id, account.balance,
                    where=reduce_ids(account.party, list(map(int, sub_ids)))
                    & (account.active == Literal(True))))
            for party_id, account_id, balance in cursor:
                if 'loyalty_account' in result:
                    result['loyalty_account'][party_id] = account_id
                if 'loyalty_balance' in result:
                    result['loyalty_balance'][party_id] = balance
        return result

    @classmethod
    def search_loyalty_account(cls, name, clause):
        pool = Pool()
        Account = pool.get('bol_air.loyalty.account')
        account = Account.__table__()
        _, operator, value, *extra = clause
        field = clause[0][len(name) + 1:] or (
            'rec_name' if isinstance(value, str) else 'id')
        query = Account.search([(field, operator, value, *extra)], query=True)
        return [('id', 'in', account.select(
                    account.party, where=account.id.in_(query)))]

    @classmethod
    def search_loyalty_balance(cls, name, clause):
        pool = Pool()
        Account = pool.get('bol_air.loyalty.account')
        account = Account.__table__()
        _, operator, value = clause
        Operator = fields.SQL_OPERATORS[operator]
        query = account.select(
            account.party,
            where=Operator(Coalesce(account.balance, 0), value)
            & (account.active == Literal(True)))
        return [('id', 'in', query)]


class Replace(metaclass=PoolMeta):
    __name__ = 'party.replace'

    @classmethod
    def fields_to_replace(cls):
        return super().fields_to_replace() + [
            ('bol_air.loyalty.account', 'party'),
            ('bol_air.voucher', 'party'),
            ]


class Erase(metaclass=PoolMeta):
    __name__ = 'party.erase'

    def to_erase(self, party_id):
        pool = Pool()
        Account = pool.get('bol_air.loyalty.account')
        Voucher = pool.get('bol_air.voucher')
        Move = pool.get('bol_air.loyalty.move')
        # The ledger keeps its figures (they back invoices); the card is
        # closed and the free texts go
        return super().to_erase(party_id) + [
            (Account, [('party', '=', party_id)], True,
                ['active'], [False]),
            (Voucher, [('party', '=', party_id)], True,
                ['reason'], [None]),
            (Move, [('account.party', '=', party_id)], False,
                ['reason'], [None]),
            ]
