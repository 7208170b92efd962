"""Load benchmark of the customer portal (make bench).

On PostgreSQL, in a throw-away database built by ``bolair demo`` (the demo
catalogue sold online) plus ``--users`` customers with a portal account and
``--orders`` invoiced orders each, it starts the real server (``trytond``,
as ``make run`` does) and, from ``--users`` concurrent clients (one thread
each, one logged-in customer each), measures for ``--seconds`` each:

1. the reference: raw trytond JSON-RPC ``model.product.product.search_read``
   of the products sold online (20 rows, 4 fields), logged in as admin;
2. the portal's catalogue page (``/catalogue``);
3. the portal's order history (``/account/orders``) of each customer.

Each is measured twice:

- **saturated**: every client sends its next request as soon as it has the
  answer (no pause). This gives the most requests/s the server can answer;
  the portal's requests/s over the JSON-RPC ones is the throughput figure
  (target ≥ 0.8). Response times here are only queueing: with N clients
  always waiting, a request waits for the N - 1 others (Little's law), so
  the p95 is about N / (requests/s) for any page, JSON-RPC included.
- **users**: each client is a customer who reads the page before the next
  click, a pause drawn between 0.5 and 1.5 × ``--think`` seconds (default
  1 s). The p95 of the response times here is the figure a customer feels
  (target ≤ 300 ms).

It prints, for each, the requests, requests/s, median and 95th percentile
of the response times, and the errors, then the two ratios against the
targets.

    python bench/bench_portal.py [--users 20] [--orders 10] [--seconds 20]
        [--think 1]

PostgreSQL is TRYTOND_DATABASE_URI (default
postgresql://postgres@127.0.0.1:5432/); the database is dropped at the end
unless ``--keep``.
"""
import argparse
import base64
import http.client
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_URI = 'postgresql://postgres@127.0.0.1:5432/'
PASSWORD = 'Bench-portail-2026'
ADMIN_PASSWORD = 'admin-demo'  # bolair demo's


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def write_config(uri, port):
    fd, name = tempfile.mkstemp(prefix='bench-portal-', suffix='.conf')
    with os.fdopen(fd, 'w') as fp:
        fp.write(f"""[database]
uri = {uri}
language = fr
[web]
listen = 127.0.0.1:{port}
[session]
max_age = 28800
[bol_air_portal]
# the bench talks plain HTTP to 127.0.0.1
secure_cookie = False
""")
    return name


def populate(config_file, database, users, orders):
    """Customers with a portal account and invoiced orders; their e-mails.
    Run as the server runs a request: a transaction started again with the
    locks it asks for (invoicing locks the invoice sequences)."""
    sys.path.insert(0, str(ROOT))
    from bol_air_crm.cli import _load_config
    _load_config(config_file)
    from trytond.pool import Pool
    from trytond.transaction import Transaction, TransactionError
    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0, readonly=True):
        company, = pool.get('company.company').search([], limit=1)
        admin, = pool.get('res.user').search([('login', '=', 'admin')])
        context = {'company': company.id, 'language': 'fr'}
        admin = admin.id
    emails = [f'bench{i:03d}@example.com' for i in range(users)]
    extras = {}
    while True:
        with Transaction().start(
                database, admin, context=context, **extras) as transaction:
            try:
                _populate(pool, emails, orders)
            except TransactionError as e:
                transaction.rollback()
                e.fix(extras)
                continue
            transaction.commit()
        return emails


def _populate(pool, emails, orders):
    Party = pool.get('party.party')
    WebUser = pool.get('web.user')
    Product = pool.get('product.product')
    Sale = pool.get('sale.sale')
    Line = pool.get('sale.line')
    products = Product.search([('salable', '=', True)], limit=4)
    parties = Party.create([{
                'name': f"Cliente Bench {i:03d}",
                'addresses': [('create', [{
                                'street': f"{i} rue du Banc",
                                'postal_code': '87000',
                                'city': 'Limoges'}])],
                'contact_mechanisms': [('create', [{
                                'type': 'email', 'value': email}])],
                } for i, email in enumerate(emails)])
    web_users = WebUser.create([{
                'email': email, 'party': party.id, 'email_valid': True,
                } for email, party in zip(emails, parties)])
    WebUser.write(web_users, {'password': PASSWORD})
    sales = []
    for party in parties:
        for n in range(orders):
            sale = Sale(party=party)
            sale.on_change_party()
            lines = []
            for product in products[:1 + n % len(products)]:
                line = Line(sale=sale, product=product, quantity=1 + n % 3)
                line.on_change_product()
                lines.append(line)
            sale.lines = lines
            sales.append(sale)
    Sale.save(sales)
    Sale.quote(sales)
    Sale.confirm(sales)
    Sale.invoice_once(sales)


class Client:
    "One virtual user: its own connection and cookies"

    def __init__(self, port, database):
        self.port = port
        self.database = database
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        headers = dict(headers or {})
        if self.cookies:
            headers['Cookie'] = '; '.join(
                f'{k}={v}' for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for header in response.headers.get_all('Set-Cookie') or []:
            name, value = header.split(';', 1)[0].split('=', 1)
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        conn.close()
        return response.status, data

    def portal(self, path):
        return f'/{self.database}/portal{path}'

    def login(self, email):
        self.request('GET', self.portal('/login'))
        body = urllib.parse.urlencode({
                'csrf_token': self.cookies['bolair_csrf'],
                'email': email, 'password': PASSWORD})
        status, _ = self.request('POST', self.portal('/login'), body, {
                'Content-Type': 'application/x-www-form-urlencoded'})
        if status != 303:
            raise RuntimeError(f"login of {email}: HTTP {status}")


class RPC:
    "The reference: the JSON-RPC the web client speaks"

    def __init__(self, port, database):
        self.port = port
        self.database = database
        user_id, session, *_ = self.call('common.db.login', [
                'admin', {'password': ADMIN_PASSWORD}, 'fr'])
        token = base64.b64encode(
            f'admin:{user_id}:{session}'.encode()).decode()
        self.headers = {
            'Content-Type': 'application/json',
            'Authorization': f'Session {token}'}

    def call(self, method, params, headers=None):
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=60)
        conn.request('POST', f'/{self.database}/rpc/', json.dumps({
                    'id': 1, 'method': method, 'params': params}),
            headers or {'Content-Type': 'application/json'})
        response = conn.getresponse()
        data = json.loads(response.read())
        conn.close()
        if 'error' in data and data['error']:
            raise RuntimeError(data['error'])
        return data['result']


def hammer(name, workers, seconds, think=0):
    """Run the ``workers`` (callables returning True when the answer is
    right) in parallel for ``seconds``, each pausing between 0.5 and 1.5 ×
    ``think`` seconds after an answer; return the figures"""
    times, errors = [], []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(index, work):
        pause = random.Random(index)
        if think:
            # The users do not all click at the same instant
            time.sleep(pause.uniform(0, think))
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                ok = work()
            except Exception as e:  # noqa: BLE001 — counted, not hidden
                ok = False
                with lock:
                    errors.append(repr(e))
            elapsed = time.monotonic() - started
            with lock:
                times.append(elapsed)
                if not ok:
                    errors.append('wrong answer')
            if think:
                time.sleep(pause.uniform(0.5 * think, 1.5 * think))

    threads = [threading.Thread(target=loop, args=(i, w))
        for i, w in enumerate(workers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    duration = time.monotonic() - started
    times.sort()
    return {
        'name': name,
        'requests': len(times),
        'rate': len(times) / duration,
        'median': statistics.median(times) * 1000 if times else 0,
        'p95': times[int(len(times) * 0.95) - 1] * 1000 if times else 0,
        'errors': len(errors),
        'first_error': errors[0] if errors else '',
        }


def wait_for(port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the server did not start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--users', type=int, default=20)
    parser.add_argument('--orders', type=int, default=10)
    parser.add_argument('--seconds', type=float, default=20)
    parser.add_argument('--think', type=float, default=1,
        help="mean pause of a user between two pages, in seconds")
    parser.add_argument('--database', default=f'bench_portal_{os.getpid()}')
    parser.add_argument('--keep', action='store_true',
        help="keep the database (and reuse it when it exists)")
    args = parser.parse_args()

    uri = os.environ.get('TRYTOND_DATABASE_URI', '')
    if not uri.startswith('postgresql'):
        uri = PG_URI
    port = free_port()
    config_file = write_config(uri, port)
    env = dict(os.environ, TRYTOND_DATABASE_URI=uri)
    database = args.database
    server = None
    try:
        def psql(query):
            return subprocess.run(
                ['psql', uri.rstrip('/') + f'/{query[0]}', '-tAc', query[1]],
                capture_output=True, text=True).stdout.strip()

        started = time.monotonic()
        exists = f"SELECT 1 FROM pg_database WHERE datname='{database}'"
        if psql(('postgres', exists)) != '1':
            subprocess.run([str(BIN / 'bolair'), 'demo', '-c', config_file,
                    '-d', database], check=True, env=env)
        bench_users = (
            "SELECT 1 FROM web_user WHERE email='bench000@example.com'")
        if psql((database, bench_users)) != '1':
            emails = populate(config_file, database, args.users, args.orders)
            print(f"database {database} built in "
                f"{time.monotonic() - started:.0f} s")
        else:
            emails = [f'bench{i:03d}@example.com' for i in range(args.users)]
        server = subprocess.Popen([str(BIN / 'trytond'), '-c', config_file,
                '-d', database], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(port)

        rpc = RPC(port, database)
        fields = ['rec_name', 'code', 'list_price', 'default_uom']
        domain = [('salable', '=', True)]
        if rpc.call('model.product.template.fields_get',
                [['portal_sold'], {}], rpc.headers):
            domain = [('template.portal_sold', '=', True)]

        def json_rpc():
            rows = rpc.call('model.product.product.search_read',
                [domain, 0, 20, None, fields, {}], rpc.headers)
            return bool(rows)

        clients = [Client(port, database) for _ in emails]
        for client, email in zip(clients, emails):
            client.login(email)

        def page(client, path, expect):
            def work():
                status, data = client.request('GET', client.portal(path))
                return status == 200 and expect.search(data)
            return work

        # Warm the caches (pool, templates, translations)
        json_rpc()
        for client in clients[:2]:
            client.request('GET', client.portal('/catalogue'))
            client.request('GET', client.portal('/account/orders'))

        catalogue = [
            page(c, '/catalogue', re.compile(rb'<h1')) for c in clients]
        orders = [
            page(c, '/account/orders', re.compile(rb'<h1')) for c in clients]
        results = {}
        for mode, think in [('saturated', 0), ('users', args.think)]:
            results[mode] = [
                hammer("JSON-RPC search_read (référence)",
                    [json_rpc] * args.users, args.seconds, think),
                hammer("portail : catalogue", catalogue, args.seconds, think),
                hammer("portail : historique des commandes", orders,
                    args.seconds, think),
                ]
    finally:
        if server:
            server.terminate()
            server.wait()
        os.unlink(config_file)
        if not args.keep and server is not None:
            subprocess.run(['dropdb', '-h', '127.0.0.1', '-U', 'postgres',
                    '--if-exists', database])

    titles = {
        'saturated': "sans pause (débit maximal du serveur)",
        'users': "clientes qui lisent chaque page "
        f"(pause de {0.5 * args.think:g} à {1.5 * args.think:g} s)",
        }
    print(f"\n{args.users} utilisateurs simultanés, {args.seconds:.0f} s "
        "par mesure, un serveur trytond (make run), PostgreSQL")
    for mode, rows in results.items():
        print(f"\n{titles[mode]}")
        print(f"{'mesure':40} {'requêtes':>8} {'req/s':>7} {'médiane':>9} "
            f"{'p95':>9} {'erreurs':>7}")
        for r in rows:
            print(f"{r['name']:40} {r['requests']:8d} {r['rate']:7.1f} "
                f"{r['median']:7.0f} ms {r['p95']:7.0f} ms "
                f"{r['errors']:7d}")
            if r['errors']:
                print(f"    first error: {r['first_error']}")
    print()
    saturated, users = results['saturated'], results['users']
    reference = saturated[0]['rate']
    for fast, felt in zip(saturated[1:], users[1:]):
        print(f"{fast['name']}: débit {fast['rate'] / reference:.2f} × "
            "JSON-RPC (cible ≥ 0,8) ; p95 ressenti "
            f"{felt['p95']:.0f} ms (cible ≤ 300 ms), "
            f"{fast['p95']:.0f} ms sans pause (JSON-RPC "
            f"{saturated[0]['p95']:.0f} ms) ; erreurs "
            f"{fast['errors'] + felt['errors']} (cible 0)")


if __name__ == '__main__':
    main()
