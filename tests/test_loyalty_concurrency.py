"""Points and vouchers under concurrency (issue "Loyalty"): many customers
spending the same points or the same voucher at the same moment never
spend more than there is.

Each round gives a fresh card 250 points and a fresh customer a 30 €
voucher with 20 quotations of 12 € deducting it, then makes 20 attempts
to exchange 100 of the points and 20 attempts to confirm one of the
orders, all at once: exactly 2 exchanges and 2 orders go through, the
others are refused with the user's message (no other error). On
PostgreSQL the 40 attempts of a round run in parallel threads, each in its
own transaction retried on serialization failures the way trytond's
dispatcher does it (until a deadline instead of 5 times); 25 rounds make
1 000 attempts. On SQLite (a single writer) 3 rounds run one attempt after
the other. Then, for every card, the stored balance equals the sum of its
moves and is not negative, and for every voucher what is left equals its
amount less its uses and is not negative."""
import threading
import time
import traceback
import unittest
from collections import Counter, defaultdict
from decimal import Decimal

from trytond import backend
from trytond.exceptions import UserError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, USER, drop_db
from trytond.tests.tools import activate_modules
from trytond.transaction import Transaction

from bol_air_loyalty.tests.tools import setup_loyalty

from .dispatch import call

PARALLEL = backend.name == 'postgresql'
ROUNDS = 25 if PARALLEL else 3
ATTEMPTS = 20  # of each kind, per round
POINTS, STEP_POINTS = 250, 100  # 2 exchanges possible
VOUCHER, ORDER = Decimal('30.00'), Decimal('12.00')  # 2 uses possible
TIMEOUT = 300
DISPATCHER_RETRIES = 5


def attempt(func, context, deadline):
    """Run func() as the dispatcher runs a request, dropping the
    processing the confirmation queues (not tested here). Return
    ('done' | 'refused', retries)."""
    stats = defaultdict(int)
    try:
        call(func, context, stats, deadline, run_tasks=False)
    except UserError:
        return 'refused', stats['retries']
    return 'done', stats['retries']


class LoyaltyConcurrencyTestCase(unittest.TestCase):
    "No double spending of points or vouchers under concurrent attempts"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_modules('bol_air_loyalty', setup_loyalty)
        cls.addClassCleanup(drop_db)
        if DB_NAME not in Pool.database_list():
            with Transaction().start(DB_NAME, 0, readonly=True):
                Pool(DB_NAME).init()
        with Transaction().start(DB_NAME, USER, readonly=True):
            User = Pool().get('res.user')
            cls.context = User.get_preferences(context_only=True)

    def create_round(self, index):
        """A card with POINTS points, and a voucher with ATTEMPTS
        quotations deducting it; return their ids"""
        with Transaction().start(
                DB_NAME, USER, context=self.context) as transaction:
            pool = Pool()
            Party = pool.get('party.party')
            Account = pool.get('bol_air.loyalty.account')
            Move = pool.get('bol_air.loyalty.move')
            Voucher = pool.get('bol_air.voucher')
            Sale = pool.get('sale.sale')
            Product = pool.get('product.product')
            Step = pool.get('bol_air.loyalty.redemption.step')
            plate, = Product.search([('name', '=', "Assiette")])
            step, = Step.search([('points', '=', STEP_POINTS)])
            taxes = [t.id for t in plate.customer_taxes_used]
            holder, buyer = Party.create([{
                        'crm_customer': True,
                        'last_name': f"{name}{index}",
                        'addresses': [('create', [{'city': "Limoges"}])],
                        } for name in ["CARTE", "BON"]])
            card, = Account.create([{'party': holder.id}])
            Move.create([{
                        'account': card.id, 'points': POINTS,
                        'kind': 'correction', 'reason': "Test",
                        }])
            voucher, = Voucher.create([{
                        'party': buyer.id, 'amount': VOUCHER,
                        'kind': 'goodwill', 'reason': "Test",
                        }])
            address, = buyer.addresses
            sales = Sale.create([{
                        'party': buyer.id,
                        'invoice_address': address.id,
                        'shipment_address': address.id,
                        'lines': [('create', [{
                                        'product': plate.id,
                                        'quantity': 1,
                                        'unit': plate.sale_uom.id,
                                        'unit_price': Decimal('10.0000'),
                                        'taxes': [('add', taxes)],
                                        }])],
                        } for _ in range(ATTEMPTS)])
            for sale in Sale.browse(sales):
                self.assertEqual(sale.total_amount, ORDER)
                sale.apply_voucher(voucher)
            # Quotations: the customer confirms them
            Sale.quote(Sale.browse(sales))
            transaction.commit()
            return card.id, step.id, voucher.id, [s.id for s in sales]

    def run_round(self, card_id, step_id, voucher_id, sale_ids):
        "Return the outcome ('done', 'refused') of each attempt by kind"
        def redeem():
            pool = Pool()
            Account = pool.get('bol_air.loyalty.account')
            Step = pool.get('bol_air.loyalty.redemption.step')
            Account(card_id).redeem_points(Step(step_id))

        def confirm(sale_id):
            def func():
                Sale = Pool().get('sale.sale')
                Sale.confirm(Sale.browse([sale_id]))
            return func

        calls = [('redeem', redeem)] * ATTEMPTS + [
            ('use', confirm(i)) for i in sale_ids]
        outcomes = [None] * len(calls)
        errors = [None] * len(calls)
        deadline = time.monotonic() + TIMEOUT
        barrier = threading.Barrier(len(calls)) if PARALLEL else None

        def worker(i):
            try:
                if barrier:
                    barrier.wait(timeout=TIMEOUT)
                outcomes[i] = attempt(calls[i][1], self.context, deadline)
            except BaseException:
                errors[i] = traceback.format_exc()

        if PARALLEL:
            threads = [threading.Thread(target=worker, args=(i,), daemon=True)
                for i in range(len(calls))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(max(deadline - time.monotonic(), 0) + 30)
            self.assertFalse([t for t in threads if t.is_alive()])
        else:
            for i in range(len(calls)):
                worker(i)
        failed = [e for e in errors if e]
        self.assertFalse(failed, "%s attempts failed with an error, first:\n%s"
            % (len(failed), failed[0] if failed else ''))
        result = {'redeem': Counter(), 'use': Counter()}
        retries = []
        for (kind, _), (outcome, retried) in zip(calls, outcomes):
            result[kind][outcome] += 1
            retries.append(retried)
        return result, retries

    def check_ledgers(self):
        "Balances are the sums of the moves, vouchers less their uses"
        with Transaction().start(
                DB_NAME, USER, context=self.context, readonly=True):
            pool = Pool()
            Account = pool.get('bol_air.loyalty.account')
            Voucher = pool.get('bol_air.voucher')
            accounts = Account.search([])
            balances = Account.current_balances([a.id for a in accounts])
            for account in accounts:
                self.assertEqual(account.balance, balances[account.id])
                self.assertGreaterEqual(account.balance, 0)
            for voucher in Voucher.search([]):
                used = sum((u.amount for u in voucher.uses), Decimal(0))
                self.assertEqual(voucher.remaining, voucher.amount - used)
                self.assertGreaterEqual(voucher.remaining, 0)

    def test_no_double_spending(self):
        "Concurrent exchanges and uses never spend more than there is"
        busy = 0
        for index in range(ROUNDS):
            card_id, step_id, voucher_id, sale_ids = self.create_round(index)
            result, retries = self.run_round(
                card_id, step_id, voucher_id, sale_ids)
            busy += sum(1 for r in retries if r > DISPATCHER_RETRIES)
            self.assertEqual(
                result['redeem'], Counter(done=2, refused=ATTEMPTS - 2),
                f"round {index}")
            self.assertEqual(
                result['use'], Counter(done=2, refused=ATTEMPTS - 2),
                f"round {index}")
            with Transaction().start(
                    DB_NAME, USER, context=self.context, readonly=True):
                pool = Pool()
                Account = pool.get('bol_air.loyalty.account')
                Voucher = pool.get('bol_air.voucher')
                self.assertEqual(
                    Account(card_id).balance, POINTS - 2 * STEP_POINTS)
                self.assertEqual(
                    Voucher(voucher_id).remaining, VOUCHER - 2 * ORDER)
        self.check_ledgers()
        print(f"\n{ROUNDS * 2 * ATTEMPTS} attempts, {busy} would have "
            f"needed more than the dispatcher's {DISPATCHER_RETRIES} "
            "retries", flush=True)
