"""The demo database as a user meets it: built by ``bolair demo`` on the
backend of the test leg, served by trytond with the web client, checked
over JSON-RPC and in headless Chromium (screenshots saved under doc/)."""
import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SAO = ROOT / 'var' / 'sao' / 'package'
CHROMIUM = '/usr/bin/chromium'
ADMIN = ('admin', 'admin-demo')
MARYSE = ('maryse', 'maryse-demo')
ACCOUNTANT = ('compta', 'compta-demo')

_server = {}


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def setUpModule():
    backend = os.environ.get('BOLAIR_TEST_BACKEND', 'sqlite')
    tmp = Path(tempfile.mkdtemp(prefix='bolair-demo-'))
    env = dict(os.environ)
    for name in ['DB_NAME', 'DB_CACHE', 'TRYTOND_DATABASE_URI']:
        env.pop(name, None)
    port = _free_port()
    if backend == 'sqlite':
        uri = 'sqlite://'
        env['TRYTOND_DATABASE__PATH'] = str(tmp)
        database = 'demo'
    else:
        uri = os.environ['TRYTOND_DATABASE_URI']
        database = f'test_bolair_demo_{os.getpid()}'
    # E-mails of the server (portal sign-up) go to a local SMTP sink
    from tests import smtp_sink
    smtp_port = _free_port()
    sink, smtp = smtp_sink.start(smtp_port)
    config = tmp / 'trytond.conf'
    config.write_text(
        f"[database]\nuri = {uri}\nlanguage = fr\nlist = False\n"
        f"[web]\nlisten = 127.0.0.1:{port}\nroot = {SAO}\n"
        f"[email]\nuri = smtp://127.0.0.1:{smtp_port}\n"
        "from = Le Bol d'Air <bonjour@lebolair.example>\n")
    subprocess.run(
        [str(BIN / 'bolair'), 'demo', '-c', str(config), '-d', database],
        check=True, env=env, stdout=subprocess.DEVNULL)
    log = open(tmp / 'server.log', 'w')
    process = subprocess.Popen(
        [str(BIN / 'trytond'), '-c', str(config), '-d', database],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    for _ in range(100):
        try:
            urllib.request.urlopen(url + '/', timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    _server.update(
        process=process, url=url, database=database, tmp=tmp, env=env,
        uri=uri,
        config=config, backend=backend, log=log, sink=sink, smtp=smtp)


def tearDownModule():
    if _server.get('smtp'):
        _server['smtp'].stop()
    process = _server.get('process')
    if process:
        process.terminate()
        process.wait(timeout=30)
        _server['log'].close()
    if _server.get('backend') == 'postgresql':
        import psycopg
        # the maintenance database of the server the demo was built on
        # (whatever database the URI names by then)
        uri = urllib.parse.urlsplit(_server['uri'])._replace(
            scheme='postgresql', path='/postgres').geturl()
        with psycopg.connect(uri, autocommit=True) as connection:
            connection.execute(
                f'DROP DATABASE IF EXISTS "{_server["database"]}"')
    if _server.get('tmp'):
        shutil.rmtree(_server['tmp'], ignore_errors=True)


class RPC:
    "A minimal JSON-RPC client of trytond, as the web client talks to it"

    def __init__(self, login, password):
        self.url = f"{_server['url']}/{_server['database']}/rpc/"
        self.auth = None
        user_id, session, *_ = self.call(
            'common.db.login', login, {'password': password}, 'fr')
        token = f'{login}:{user_id}:{session}'.encode()
        self.auth = 'Session ' + base64.b64encode(token).decode()
        self.context = self.call('model.res.user.get_preferences', True, {})

    def call(self, method, *params):
        request = urllib.request.Request(
            self.url, data=json.dumps({
                    'id': 1, 'method': method, 'params': list(params),
                    }).encode(),
            headers={'Content-Type': 'application/json'})
        if self.auth:
            request.add_header('Authorization', self.auth)
        with urllib.request.urlopen(request, timeout=60) as response:
            result = json.loads(response.read())
        if result.get('error'):
            raise RuntimeError(result['error'])
        return result['result']

    def search_read(self, model, domain, fields, order=None):
        return self.call(
            f'model.{model}.search_read', domain, 0, None, order, fields,
            self.context)


def _decimal(value):
    if isinstance(value, dict):  # JSON-RPC encodes Decimal as an object
        return Decimal(value['decimal'])
    return Decimal(str(value))


def _shown(page, pattern, timeout=30):
    """Wait until the page shows the text, as a label or in a field (the
    web client fills the fields after drawing the form)"""
    deadline = time.monotonic() + timeout
    while True:
        if page.locator('input:visible').evaluate_all(
                "(els, p) => els.some(e => new RegExp(p).test(e.value))",
                pattern) or page.get_by_text(
                    re.compile(pattern)).first.is_visible():
            return True
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(250)


class DemoDataTestCase(unittest.TestCase):
    "What the README promises about the demo database"

    def test_annex_customers(self):
        "The 41 customers of annex 2 with their number, host flag, revenue"
        rpc = RPC(*ADMIN)
        customers = rpc.search_read(
            'party.party', [('crm_customer', '=', True)],
            ['code', 'name', 'host_status', 'ambassador.rec_name',
                'annual_revenue'])
        self.assertEqual(len(customers), 41)
        self.assertEqual(
            sum(c['host_status'] == 'host' for c in customers), 16)
        # The legacy revenue of the file plus what the demo invoiced since
        invoices = rpc.search_read(
            'account.invoice', [
                ('type', '=', 'out'), ('state', 'in', ['posted', 'paid'])],
            ['untaxed_amount'])
        self.assertTrue(invoices)
        self.assertEqual(
            sum(_decimal(c['annual_revenue']) for c in customers),
            Decimal('18640') + sum(
                _decimal(i['untaxed_amount']) for i in invoices))
        by_code = {c['code']: c for c in customers}
        self.assertEqual(set(by_code), {str(i) for i in range(1, 41)} | {'50'})
        revel = by_code['1']
        self.assertEqual(revel['name'], "REVEL Marie-Paule")
        self.assertEqual(revel['host_status'], 'host')
        self.assertEqual(revel['ambassador.']['rec_name'], "Maryse Brun")
        self.assertEqual(_decimal(revel['annual_revenue']), Decimal('1254'))
        self.assertEqual(by_code['50']['name'], "UFFOL Jérôme")

    def test_meetings_in_several_states(self):
        "Meetings in different states with guests and orders"
        rpc = RPC(*ADMIN)
        meetings = rpc.search_read(
            'bol_air.meeting', [],
            ['state', 'guests', 'sales', 'sales_amount', 'host_reward'])
        states = {m['state'] for m in meetings}
        self.assertTrue({'planned', 'held', 'closed'} <= states, states)
        self.assertTrue(all(m['guests'] for m in meetings))
        closed, = [m for m in meetings if m['state'] == 'closed']
        self.assertTrue(closed['sales'])
        self.assertEqual(
            _decimal(closed['host_reward']),
            (_decimal(closed['sales_amount']) / 10).quantize(
                Decimal('0.01')))

    def test_loyalty_demo(self):
        """The closed meeting's buyers with a card earned their points and
        its host got her voucher; Maryse sees only her customers' cards"""
        rpc = RPC(*ADMIN)
        closed, = rpc.search_read(
            'bol_air.meeting', [('state', '=', 'closed')],
            ['host', 'host_reward', 'sales'])
        voucher, = rpc.search_read(
            'bol_air.voucher', [('kind', '=', 'host_reward')],
            ['party', 'amount', 'remaining', 'state'])
        self.assertEqual(voucher['party'], closed['host'])
        self.assertEqual(
            _decimal(voucher['amount']), _decimal(closed['host_reward']))
        self.assertEqual(voucher['state'], 'valid')
        cards = rpc.search_read(
            'bol_air.loyalty.account', [],
            ['party', 'balance', 'party.ambassador'])
        sales = rpc.search_read(
            'sale.sale', [('id', 'in', closed['sales'])],
            ['party', 'untaxed_amount'])
        by_party = {c['party']: c for c in cards}
        earned = [s for s in sales if s['party'] in by_party]
        self.assertTrue(earned)
        for sale in earned:
            self.assertEqual(
                by_party[sale['party']]['balance'],
                int(_decimal(sale['untaxed_amount'])))
        maryse = RPC(*MARYSE)
        seen = maryse.search_read(
            'bol_air.loyalty.account', [], ['party.ambassador.rec_name'])
        self.assertTrue(seen)
        self.assertLess(len(seen), len(cards))
        self.assertEqual(
            {c['party.']['ambassador.']['rec_name'] for c in seen},
            {"Maryse Brun"})

    def test_consent_demo(self):
        """The closed meeting's buyers signed the newsletter and SMS forms
        there; one withdrew the SMS since"""
        rpc = RPC(*ADMIN)
        closed, = rpc.search_read(
            'bol_air.meeting', [('state', '=', 'closed')], ['sales'])
        buyers = {s['party'] for s in rpc.search_read(
                'sale.sale', [('id', 'in', closed['sales'])], ['party'])}
        subscribed = rpc.search_read(
            'party.party',
            [('consent_purposes.code', '=', 'newsletter')], ['code'])
        self.assertEqual({p['id'] for p in subscribed}, buyers)
        texting = rpc.search_read(
            'party.party', [('consent_purposes.code', '=', 'sms')],
            ['code'])
        self.assertEqual(len(texting), len(buyers) - 1)
        self.assertNotIn('14', {p['code'] for p in texting})
        entries = rpc.search_read(
            'bol_air.gdpr.consent', [('channel', '=', 'paper')],
            ['meeting', 'text_version'])
        self.assertEqual(len(entries), 2 * len(buyers))
        self.assertTrue(all(e['meeting'] == closed['id'] and e['text_version']
                for e in entries))

    def test_recruitment_and_marketing_demo(self):
        """The guest who wants to host is Maryse's lead, the ambassadors
        have objectives, the customers a segment, and the newsletter
        target list holds the signatories only"""
        maryse = RPC(*MARYSE)
        leads = maryse.search_read(
            'bol_air.lead', [],
            ['party.code', 'state', 'source', 'ambassador.rec_name'])
        self.assertEqual([
                (l['party.']['code'], l['state'], l['source'],
                    l['ambassador.']['rec_name'])
                for l in leads],
            [('2', 'new', 'guest', "Maryse Brun")])
        objectives = maryse.search_read(
            'bol_air.objective', [], ['ambassador.rec_name'])
        self.assertEqual(len(objectives), 2)
        self.assertEqual(
            {o['ambassador.']['rec_name'] for o in objectives},
            {"Maryse Brun"})

        admin = RPC(*ADMIN)
        customers = admin.search_read(
            'party.party', [('crm_customer', '=', True)],
            ['segment.code', 'rfm_purchases'])
        self.assertTrue(all(c['segment.'] for c in customers))
        # The buyers of last month's meeting: recent, one purchase
        self.assertEqual(
            {c['segment.']['code'] for c in customers if c['rfm_purchases']},
            {'new'})
        self.assertEqual(
            {c['id'] for c in customers if c['rfm_purchases']},
            {c['id'] for c in customers
                if c['segment.']['code'] != 'prospect'})
        subscribed = admin.search_read(
            'party.party',
            [('consent_purposes.code', '=', 'newsletter')], ['id'])
        target, = admin.search_read(
            'bol_air.target.list', [], ['members', 'excluded_count'])
        members = admin.search_read(
            'bol_air.target.list.member',
            [('id', 'in', target['members'])], ['party'])
        self.assertEqual(
            {m['party'] for m in members}, {p['id'] for p in subscribed})
        self.assertEqual(
            target['excluded_count'], len(customers) - len(members))

    def test_ambassador_sees_only_her_customers(self):
        "Maryse Brun logs in and sees only her customers and meetings"
        rpc = RPC(*MARYSE)
        customers = rpc.search_read(
            'party.party', [('crm_customer', '=', True)],
            ['ambassador.rec_name'])
        self.assertTrue(customers)
        self.assertEqual(
            {c['ambassador.']['rec_name'] for c in customers},
            {"Maryse Brun"})
        meetings = rpc.search_read(
            'bol_air.meeting', [], ['ambassador.rec_name'])
        self.assertTrue(meetings)
        self.assertEqual(
            {m['ambassador.']['rec_name'] for m in meetings},
            {"Maryse Brun"})

    def test_accountant_reads_meeting_invoices(self):
        "The accountant sees the closed meeting's posted invoices, not the CRM"
        admin = RPC(*ADMIN)
        closed, = admin.search_read(
            'bol_air.meeting', [('state', '=', 'closed')],
            ['number', 'sales', 'ambassador.rec_name'])
        sales = admin.search_read(
            'sale.sale', [('id', 'in', closed['sales'])], ['total_amount'])
        rpc = RPC(*ACCOUNTANT)
        invoices = rpc.search_read(
            'account.invoice', [('meeting', '=', closed['id'])],
            ['number', 'state', 'total_amount', 'meeting.rec_name',
                'meeting_ambassador.rec_name', 'tax_identifier.code'])
        self.assertEqual(len(invoices), len(sales))
        # The company's VAT number, a legal mention of the invoice
        self.assertEqual(
            {i['tax_identifier.']['code'] for i in invoices},
            {'FR01874204316'})
        self.assertEqual({i['state'] for i in invoices}, {'posted'})
        self.assertTrue(all(i['number'] for i in invoices))
        self.assertEqual(
            sorted(_decimal(i['total_amount']) for i in invoices),
            sorted(_decimal(s['total_amount']) for s in sales))
        self.assertEqual(
            {i['meeting_ambassador.']['rec_name'] for i in invoices},
            {closed['ambassador.']['rec_name']})
        with self.assertRaises(RuntimeError):
            rpc.search_read('bol_air.interaction', [], ['summary'])

    def test_portal_demo_customer(self):
        """The README's demo customer logs into the portal and is greeted
        by her name"""
        import http.client
        import urllib.parse
        host, port = _server['url'].rsplit('/', 1)[1].split(':')
        portal = f"/{_server['database']}/portal"
        connection = http.client.HTTPConnection(host, int(port), timeout=60)

        def request(method, path, cookies, body=None):
            headers = {'Cookie': '; '.join(
                    f'{k}={v}' for k, v in cookies.items())}
            if body is not None:
                body = urllib.parse.urlencode(body)
                headers['Content-Type'] = 'application/x-www-form-urlencoded'
            connection.request(method, portal + path, body, headers)
            response = connection.getresponse()
            html = response.read().decode()
            # The cookies are Secure: kept by hand over plain HTTP
            for header in response.headers.get_all('Set-Cookie') or []:
                name, value = header.split(';', 1)[0].split('=', 1)
                cookies[name] = value
            return response, html

        cookies = {}
        request('GET', '/login', cookies)
        response, _ = request('POST', '/login', cookies, {
                'email': 'anna.verdou@example.com',
                'password': 'bolair-demo-2026',
                'csrf_token': cookies['bolair_csrf'],
                })
        self.assertEqual(response.status, 303)
        self.assertTrue(response.getheader('Location').endswith('/account'))
        response, html = request('GET', '/account', cookies)
        self.assertEqual(response.status, 200)
        self.assertIn("Bonjour VERDOU Anna", html)


class CommandLineTestCase(unittest.TestCase):
    "bolair import-customers and export-customers on the demo database"

    def bolair(self, *args):
        return subprocess.run(
            [str(BIN / 'bolair'), *args, '-c', str(_server['config']),
                '-d', _server['database']],
            env=_server['env'], capture_output=True, text=True)

    def test_import_again_changes_nothing(self):
        "Importing the annex again into the demo changes nothing"
        report = _server['tmp'] / 'rapport.xlsx'
        result = self.bolair(
            'import-customers', str(ROOT / 'data' / 'annexe2.xlsx'),
            '--report', str(report))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("41 lignes : 0 créés, 0 fusionnés, 0 mis à jour, "
            "41 inchangés", result.stdout)
        self.assertTrue(report.stat().st_size)

    def test_refused_file(self):
        "A file that is not a workbook: clear French message, exit code 1"
        path = _server['tmp'] / 'clients.xlsx'
        path.write_text("N° client;Nom\n1;REVEL\n")
        result = self.bolair('import-customers', str(path))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("n'est pas un classeur Excel", result.stderr)

    def test_reconcile(self):
        "The demo's confirmed orders and their invoices reconcile"
        result = self.bolair('reconcile')
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("Les totaux concordent.", result.stdout)
        self.assertRegex(result.stdout, r"[1-9]\d* commandes confirmées")

    def test_export(self):
        "Export the 41 customers of the demo in the extended layout"
        import openpyxl
        path = _server['tmp'] / 'export.xlsx'
        result = self.bolair('export-customers', str(path))
        self.assertEqual(result.returncode, 0, result.stderr)
        sheet = openpyxl.load_workbook(path).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        self.assertEqual(
            rows[0][:4], ("N° client", "Civilité", "Nom", "Prénom"))
        self.assertEqual(len(rows), 42)
        self.assertEqual(rows[1][0], '1')


class WebClientTestCase(unittest.TestCase):
    "Smoke test of the web client in Debian's headless Chromium"
    viewport = {'width': 1400, 'height': 900}

    def browse(self, walk):
        "Run walk(page, doc) in a fresh headless Chromium"
        from playwright.sync_api import sync_playwright
        doc = ROOT / 'doc'
        doc.mkdir(exist_ok=True)
        profile = tempfile.mkdtemp(prefix='bolair-chromium-')
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    profile, executable_path=CHROMIUM, headless=True,
                    viewport=self.viewport,
                    args=[
                        '--no-sandbox', '--disable-gpu',
                        '--disable-background-networking',
                        '--disable-component-update', '--disable-sync',
                        '--no-first-run'])
                try:
                    page = context.new_page()
                    page.set_default_timeout(30000)
                    try:
                        walk(page, doc)
                    except Exception:
                        # What the browser showed, for the failure report
                        shot = Path(tempfile.gettempdir()) / (
                            f'bolair-failure-{self._testMethodName}.png')
                        page.screenshot(path=str(shot))
                        print(f"screenshot: {shot}", file=sys.stderr)
                        raise
                finally:
                    context.close()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    def login(self, page, login, password):
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        page.goto(_server['url'] + '/')
        page.locator('input#login:visible').wait_for()
        # The web client is still loading its translations and settings
        # when the login form shows: an Enter typed then can be lost
        page.wait_for_load_state('networkidle')
        databases = page.locator('select#database:visible')
        if databases.count():
            databases.select_option(_server['database'])
        database = page.locator('input#database:visible')
        if database.count() and not database.input_value():
            database.fill(_server['database'])
        password_field = page.locator('input[type=password]:visible')
        for _ in range(3):
            page.locator('input#login:visible').fill(login)
            page.locator('input#login:visible').press('Enter')
            try:
                password_field.wait_for(timeout=10000)
                break
            except PlaywrightTimeout:
                if not page.locator('input#login:visible').count():
                    raise
        password_field.fill(password)
        page.keyboard.press('Enter')

    def expand(self, page, title):
        menu = page.locator(
            'tr', has=page.locator(f'div.column-char[title="{title}"]'))
        menu.locator('span.expander').first.click()

    def test_customer_crm_tab_and_calendar(self):
        self.browse(self._walk)

    def test_meeting_orders_tax_included(self):
        "A held meeting's orders are entered with prices tax included"
        admin = RPC(*ADMIN)
        names = {p['code']: p['name'] for p in admin.search_read(
                'party.party', [('code', 'in', ['3', '6'])], ['code', 'name'])}
        self.browse(lambda page, doc: self._walk_meeting_orders(
                page, doc, host=names['3'], buyer=names['6']))

    def _walk_meeting_orders(self, page, doc, host, buyer):
        self.login(page, *ADMIN)
        self.expand(page, "CRM")
        page.locator('div.column-char[title="Réunions"]').dblclick()
        page.get_by_role('tab', name=re.compile("^Tenue")).click()
        # Wait for the held meeting's row (the list reloads with the tab),
        # then open it by its number: a click on a name opens the customer
        row = page.locator('tr', has=page.get_by_text(host)).filter(
            visible=True).first
        row.wait_for()
        row.locator('.column-char').first.dblclick()
        self.assertTrue(_shown(page, r'R\d{4}-\d{4}'))
        page.get_by_role('tab', name="Commandes").click()
        page.get_by_text(buyer).filter(visible=True).first.wait_for()
        page.locator('.column-selection:visible', has_text="Brouillon") \
            .first.dblclick()
        # The order of the guest: bowls and mugs at their catalogue price
        self.assertTrue(_shown(page, r'Prix unitaire TTC'))
        self.assertTrue(_shown(page, r'9,90'))
        page.screenshot(path=str(doc / 'commande-reunion-ttc.png'))

    def test_loyalty_and_consent_screens(self):
        "The loyalty and GDPR screens open without error, in French"
        self.browse(self._walk_loyalty_consents)

    def _walk_loyalty_consents(self, page, doc):
        errors = []
        page.on('pageerror', lambda error: errors.append(str(error)))
        self.login(page, *ADMIN)
        self.expand(page, "Fidélité")
        page.locator('div.column-char[title="Points par mois"]').dblclick()
        page.get_by_text("Émis").first.wait_for()
        page.screenshot(path=str(doc / 'fidelite-points-par-mois.png'))
        page.locator('div.column-char[title="Cartes"]').dblclick()
        page.get_by_text("VERDOU Anna").first.wait_for()
        self.expand(page, "RGPD")
        page.locator('div.column-char[title="Consentements"]').dblclick()
        page.get_by_text("Lettre d'information par e-mail").first.wait_for()
        page.screenshot(path=str(doc / 'rgpd-consentements.png'))
        self.assertEqual(errors, [])

    def test_dashboard_and_recruitment_screens(self):
        "The dashboard, leads and target lists open without error"
        admin = RPC(*ADMIN)
        lead, = admin.search_read(
            'bol_air.lead', [('party.code', '=', '2')], ['party.rec_name'])
        self.browse(lambda page, doc: self._walk_dashboard(
                page, doc, lead['party.']['rec_name']))

    def _walk_dashboard(self, page, doc, lead_name):
        errors = []
        page.on('pageerror', lambda error: errors.append(str(error)))
        self.login(page, *ADMIN)
        self.expand(page, "CRM")
        page.locator('div.column-char[title="Tableau de bord"]').dblclick()
        page.get_by_text("Objectif chiffre d'affaires").first.wait_for()
        page.get_by_text("Meilleurs clients").first.wait_for()
        page.screenshot(path=str(doc / 'tableau-de-bord.png'))
        self.expand(page, "Recrutement d'hôtesses")
        page.locator('div.column-char[title="Pistes"]').dblclick()
        page.get_by_text(lead_name).filter(visible=True).first.wait_for()
        page.screenshot(path=str(doc / 'pistes.png'))
        page.locator('div.column-char[title="Listes de ciblage"]').dblclick()
        page.get_by_text("Lettre de Noël").filter(
            visible=True).first.wait_for()
        self.assertEqual(errors, [])

    def test_accountant_customer_invoices(self):
        "The accountant lists the customer invoices with their meeting"
        self.browse(self._walk_accountant)

    def _walk_accountant(self, page, doc):
        self.login(page, *ACCOUNTANT)
        self.expand(page, "Financier")
        self.expand(page, "Factures")
        page.locator('div.column-char[title="Factures client"]').dblclick()
        # The tab of the invoices of home meetings: the closed meeting's
        # posted invoices, with the meeting and its ambassador
        page.get_by_role(
            'tab', name=re.compile("Réunions à domicile")).click()
        page.get_by_text(re.compile(r'R\d{4}-\d{4}')).first.wait_for()
        self.assertTrue(_shown(page, r'Remy Albando'))
        self.assertFalse(
            page.locator('div.column-char[title="CRM"]').count())
        page.screenshot(path=str(doc / 'factures-clients-comptable.png'))

    def _walk(self, page, doc):
        self.login(page, *ADMIN)
        self.expand(page, "CRM")
        page.locator('div.column-char[title="Clients"]').dblclick()
        revel = page.locator(
            'div.column-char', has_text="REVEL Marie-Paule").first
        revel.dblclick()
        page.get_by_role('tab', name='CRM').click()
        page.get_by_role('tab', name="Réunions reçues").wait_for()
        page.get_by_text("CA annuel").first.wait_for()
        # The CRM tab of REVEL Marie-Paule (N° 1): ambassador and revenue
        self.assertTrue(_shown(page, r'Maryse Brun'))
        self.assertTrue(_shown(page, r'1\s?254,00'))
        page.screenshot(path=str(doc / 'client-onglet-crm.png'))

        page.locator('div.column-char[title="Agenda"]').dblclick()
        # The planned and held meetings of the demo show in the agenda
        page.get_by_text(re.compile(r'R\d{4}-\d{4}')).first.wait_for()
        page.screenshot(path=str(doc / 'agenda-reunions.png'))


class PortalWalkTestCase(unittest.TestCase):
    """The issue's walk through the customer portal on a phone: sign up,
    validate the e-mail, order two products with a voucher, see the order,
    its invoice and the points, withdraw the newsletter consent, download
    my data, log out"""
    viewport = {'width': 390, 'height': 844}
    browse = WebClientTestCase.browse
    name = "Camille Lefort"
    email = 'camille.lefort@example.com'
    password = "Un bol d'air chaque matin"

    def portal(self, path=''):
        # By the name localhost: a secure context for Chromium, which keeps
        # the portal's Secure cookies there over plain HTTP (the e-mailed
        # links follow the host of the request)
        port = _server['url'].rsplit(':', 1)[1]
        return f"http://localhost:{port}/{_server['database']}/portal{path}"

    def test_walk(self):
        self.browse(self._walk)

    def shot(self, page, doc, name):
        page.screenshot(path=str(doc / name), full_page=True)

    def _walk(self, page, doc):
        from playwright.sync_api import expect
        errors = []
        page.on('pageerror', lambda error: errors.append(str(error)))
        notice = page.get_by_role('status')

        # Sign up
        page.goto(self.portal('/'))
        page.locator('#main').get_by_role(
            'link', name="Créer un compte").click()
        page.get_by_label("Prénom et nom").fill(self.name)
        page.get_by_label("Adresse e-mail").fill(self.email)
        page.get_by_label("Mot de passe", exact=True).fill(self.password)
        page.get_by_label("Confirmez le mot de passe").fill(self.password)
        page.get_by_role('button', name="Créer mon compte").click()
        expect(notice).to_contain_text("Nous vous avons envoyé un e-mail")

        # The validation e-mail and its link
        message = _server['sink'].wait_for(self.email)
        self.assertIn("validez votre adresse", str(message['Subject']))
        link, = [u for u in _server['sink'].links(message)
            if '/portal/validate' in u]
        page.goto(link)
        page.get_by_role('button', name="Valider").click()
        expect(notice).to_have_text("Votre adresse e-mail est validée.")

        # Log in
        page.get_by_label("Adresse e-mail").fill(self.email)
        page.get_by_label("Mot de passe").fill(self.password)
        page.get_by_role('button', name="Se connecter").click()
        expect(page.get_by_role('heading', level=1)).to_have_text(
            "Mon compte")
        expect(page.get_by_text("Bonjour")).to_be_visible()

        # She joins the loyalty programme from her space
        page.get_by_role('link', name="Mes points et bons d'achat",
            exact=True).click()
        expect(page.locator('main')).to_contain_text(
            "Vous n'avez pas encore de carte de fidélité")
        page.get_by_role(
            'button', name="Rejoindre le programme de fidélité").click()
        expect(notice).to_have_text(
            "Bienvenue dans le programme de fidélité : votre carte est "
            "prête.")
        expect(page.locator('p.figure')).to_have_text("0 points")

        # The staff gives the new customer a goodwill voucher
        admin = RPC(*ADMIN)
        party, = admin.search_read(
            'web.user', [('email', '=', self.email)], ['party', 'party.name'])
        party_id, party_name = party['party'], party['party.']['name']
        voucher_id, = admin.call('model.bol_air.voucher.create', [{
                    'party': party_id, 'kind': 'goodwill',
                    'amount': {'__class__': 'Decimal', 'decimal': '5.00'},
                    'reason': "Bienvenue sur le portail",
                    }], admin.context)
        voucher, = admin.search_read(
            'bol_air.voucher', [('id', '=', voucher_id)], ['code'])

        # The catalogue: two different products in the cart
        menu = page.locator('header.site')
        menu.get_by_role('link', name="Catalogue").click()
        expect(page.get_by_role('heading', level=1)).to_have_text(
            "Catalogue")
        # The pictures on the screen are shown (the others load lazily); a
        # function, not an expression: the portal's CSP forbids eval
        page.wait_for_function(
            "() => Array.from(document.images).filter("
            "i => i.getBoundingClientRect().top < innerHeight).every("
            "i => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=str(doc / 'portail-catalogue.png'))
        products = page.locator('li.product a.product-link')
        names = []
        for index, quantity in [(0, '2'), (1, '1')]:
            menu.get_by_role('link', name="Catalogue").click()
            link = products.nth(index)
            names.append(link.inner_text().strip())
            link.click()
            expect(page.get_by_role('heading', level=1)).to_have_text(
                names[-1])
            page.get_by_label("Quantité").fill(quantity)
            page.get_by_role('button', name="Ajouter au panier").click()
            expect(notice).to_have_text("Le produit est dans votre panier.")
        self.assertNotEqual(names[0], names[1])
        for name in names:
            expect(page.locator('table.cart')).to_contain_text(name)
        self.shot(page, doc, 'portail-panier.png')

        # Checkout with the voucher and a new delivery address
        page.locator('main').get_by_role(
            'link', name="Passer commande").click()
        page.get_by_label("Code du bon d'achat").fill(
            voucher['code'].replace('-', '').lower())
        page.get_by_role('button', name="Appliquer").click()
        expect(notice).to_have_text("Le bon d'achat est déduit de votre "
            "commande.")
        expect(page.locator('ul.summary li.voucher')).to_have_count(1)
        page.get_by_label("Une nouvelle adresse").check()
        page.get_by_label("Rue").fill("12 rue des Potiers")
        page.get_by_label("Code postal").fill("87000")
        page.get_by_label("Ville").fill("Limoges")
        page.get_by_role('button', name="Confirmer ma commande").click()
        expect(notice).to_have_text("Votre commande est confirmée.")
        title = page.get_by_role('heading', level=1).inner_text()
        number, = re.fullmatch(r'Commande (\S+) confirmée', title).groups()
        self.shot(page, doc, 'portail-commande.png')
        for _ in range(60):
            confirmation = _server['sink'].wait_for(self.email)
            if number in str(confirmation['Subject']):
                break
            time.sleep(0.5)
        self.assertEqual(
            str(confirmation['Subject']), f"Votre commande {number}")

        # My account › orders: the order with its invoice
        menu.get_by_role('link', name="Mon compte").click()
        page.get_by_role('link', name="Mes commandes", exact=True).click()
        page.get_by_role('link', name=number, exact=True).click()
        expect(page.get_by_role('heading', level=1)).to_have_text(
            f"Commande {number}")
        invoice_link = page.get_by_role(
            'link', name=re.compile("^Télécharger la facture"))
        # The invoice is made once the order is committed
        for _ in range(60):
            if invoice_link.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        with page.expect_download() as download_info:
            invoice_link.click()
        path = download_info.value.path()
        self.assertGreater(Path(path).stat().st_size, 0)
        self.assertTrue(download_info.value.suggested_filename.startswith(
                'facture-'))

        # The points of the invoice on the loyalty page
        sale, = admin.search_read(
            'sale.sale', [('number', '=', number)], ['invoices'])
        invoice, = admin.search_read(
            'account.invoice', [('id', 'in', sale['invoices'])],
            ['untaxed_amount', 'state'])
        self.assertIn(invoice['state'], {'posted', 'paid'})
        configuration, = admin.search_read(
            'bol_air.configuration', [], ['points_rate'])
        points = int(_decimal(invoice['untaxed_amount'])
            * _decimal(configuration['points_rate']))
        self.assertGreater(points, 0)
        page.get_by_role('link', name="Mes points et bons d'achat",
            exact=True).click()
        expect(page.locator('p.figure')).to_have_text(f"{points} points")
        expect(page.locator('table').first).to_contain_text(f"+{points}")
        self.shot(page, doc, 'portail-points.png')
        page.get_by_role('link', name="Vue d'ensemble", exact=True).click()
        expect(page.get_by_text(f"{points} points")).to_be_visible()
        self.shot(page, doc, 'portail-compte.png')

        # Consents: give the newsletter, then withdraw it
        page.get_by_role('link', name="Mes consentements", exact=True).click()
        newsletter = page.locator('section.consent', has_text=(
                "J'accepte de recevoir par e-mail"))
        status = newsletter.locator('p.status')
        expect(status).to_have_text("Vous n'avez pas donné votre accord.")
        newsletter.get_by_role('button', name="Donner mon accord").click()
        expect(notice).to_have_text("Votre consentement est enregistré.")
        expect(status).to_have_text("Vous avez donné votre accord.")
        newsletter.get_by_role('button', name="Retirer mon accord").click()
        expect(notice).to_have_text("Votre consentement est retiré.")
        expect(status).to_have_text("Vous n'avez pas donné votre accord.")
        self.shot(page, doc, 'portail-consentements.png')
        entries = admin.search_read(
            'bol_air.gdpr.consent', [
                ('party', '=', party_id),
                ('purpose.code', '=', 'newsletter')],
            ['status', 'channel'], [('id', 'ASC')])
        self.assertEqual(
            [(e['status'], e['channel']) for e in entries],
            [('given', 'portal'), ('withdrawn', 'portal')])

        # My data: the access export names the customer
        page.get_by_role('link', name="Mes données", exact=True).click()
        with page.expect_download() as download_info:
            page.get_by_role('button', name="Télécharger (JSON)").click()
        export = json.loads(Path(download_info.value.path()).read_text())
        self.assertIn(party_name, json.dumps(export, ensure_ascii=False))

        # Log out: back to the login page, my account asks to log in
        page.get_by_role('button', name="Se déconnecter").click()
        expect(notice).to_have_text("Vous êtes déconnecté(e).")
        expect(page.get_by_role('heading', level=1)).to_have_text(
            "Connexion")
        page.goto(self.portal('/account'))
        self.assertIn('/portal/login', page.url)
        expect(page.get_by_role('button', name="Se connecter")).to_be_visible()
        self.assertEqual(errors, [])
