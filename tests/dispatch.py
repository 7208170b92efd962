"""Run a function as trytond's dispatcher runs a request, for the
concurrency tests: in a transaction started again with the locks it asks
for (Model.lock), retried on operational errors (serialization failures,
locked rows) until a deadline instead of 5 times, committed, then its
queued tasks run."""
import time

from trytond import backend
from trytond.tests.test_tryton import DB_NAME, USER
from trytond.transaction import Transaction, TransactionError
from trytond.worker import run_task


def call(func, context, stats, deadline, extras=None, run_tasks=True):
    """Run func() until it commits; count 'restarts' and 'retries' in
    stats. extras keeps the locks the restarts asked for: pass the same
    dict to the next call to take them at once. Without run_tasks the
    queued tasks are dropped. A UserError of func() propagates, its
    transaction rolled back."""
    if extras is None:
        extras = {}
    count = 0
    while True:
        if count:
            time.sleep(0.02 * min(count, 10))
        try:
            with Transaction().start(
                    DB_NAME, USER, context=context,
                    **extras) as transaction:
                try:
                    func()
                except TransactionError as e:
                    # Model.lock(): restart with the rows locked
                    transaction.rollback()
                    transaction.tasks.clear()
                    e.fix(extras)
                    stats['restarts'] += 1
                    continue
                if not run_tasks:
                    transaction.tasks.clear()
                transaction.commit()
            tasks = list(transaction.tasks)
        except backend.DatabaseOperationalError:
            # Raised by the call or, for locked rows, by start()
            if time.monotonic() > deadline:
                raise
            count += 1
            stats['retries'] += 1
            continue
        for task_id in tasks:
            run_task(DB_NAME, task_id)
        return
