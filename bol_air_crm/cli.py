# This file is part of bol_air_crm.
"""``bolair``: administration tasks of Le Bol d'Air.

    bolair demo -c CONFIG -d DATABASE [--annex FILE.xlsx]
    bolair import-customers FILE.xlsx -c CONFIG -d DATABASE [--dry-run]
        [--partial] [--report REPORT.xlsx]
    bolair export-customers FILE.xlsx -c CONFIG -d DATABASE
    bolair reconcile -c CONFIG -d DATABASE [--from DATE] [--to DATE]
"""
import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

# Modules activated in a Bol d'Air database (account_fr: French chart)
MODULES = [
    'bol_air_crm', 'bol_air_loyalty', 'bol_air_gdpr', 'bol_air_portal',
    'account_fr']
DEFAULT_ANNEX = Path(__file__).resolve().parent.parent / 'data/annexe2.xlsx'
ADMIN_PASSWORD = 'admin-demo'
ADMIN_EMAIL = 'admin@lebolair.example'


def _load_config(config_file):
    # SQLite databases live in var/db beside the configuration file unless
    # told otherwise (trytond needs an absolute path)
    os.environ.setdefault(
        'TRYTOND_DATABASE__PATH',
        str(Path(config_file).resolve().parent / 'var' / 'db'))
    import trytond.config as config
    config.update_etc(config_file)
    return config


def database_exists(config_file, database):
    "Tell whether the database exists and has been initialised"
    config = _load_config(config_file)
    from trytond import backend
    if backend.name == 'sqlite':
        path = Path(config.get('database', 'path')) / f'{database}.sqlite'
        if not path.is_file() or not path.stat().st_size:
            return False
    else:
        # Lists the databases that trytond has initialised
        server = backend.Database().connect()
        try:
            return database in server.list()
        finally:
            server.close()
    db = backend.Database(database).connect()
    try:
        connection = db.get_connection()
        try:
            return db.test(connection)
        finally:
            db.put_connection(connection)
    finally:
        db.close()


def create_database(config_file, database):
    "Create the empty database (SQLite file or PostgreSQL database)"
    config = _load_config(config_file)
    from trytond import backend
    if backend.name == 'sqlite':
        path = Path(config.get('database', 'path'))
        path.mkdir(parents=True, exist_ok=True)
        (path / f'{database}.sqlite').touch()
        return
    db = backend.Database().connect()
    connection = db.get_connection(autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                'SELECT 1 FROM pg_database WHERE datname = %s', (database,))
            exists = cursor.fetchone()
        if not exists:
            db.create(connection, database)
    finally:
        db.put_connection(connection)
        db.close()


def initialise_database(config_file, database, modules=MODULES,
        password=ADMIN_PASSWORD, email=ADMIN_EMAIL):
    "Activate the modules with trytond-admin, in French"
    with tempfile.NamedTemporaryFile('w', delete=False) as passfile:
        passfile.write(password)
    env = dict(os.environ, TRYTONPASSFILE=passfile.name)
    admin = Path(sys.executable).with_name('trytond-admin')
    try:
        subprocess.run([
                str(admin), '-c', config_file, '-d', database,
                '--email', email, '-l', 'fr', '--activate-dependencies',
                '-u', *modules], check=True, env=env)
    finally:
        os.unlink(passfile.name)


def demo(args):
    from proteus import config as pconfig

    from . import demo as demo_data
    annex = Path(args.annex)
    if not annex.is_file():
        sys.exit(f"Fichier introuvable : {annex}")
    if not database_exists(args.config, args.database):
        print(f"Création de la base « {args.database} »…", flush=True)
        create_database(args.config, args.database)
        initialise_database(args.config, args.database)
    print("Chargement des données de démonstration…", flush=True)
    config = pconfig.set_trytond(args.database, config_file=args.config)
    if demo_data.build(config, annex):
        print(f"Base de démonstration « {args.database} » prête.")
    else:
        print(f"La base « {args.database} » contient déjà la société : "
            "rien à faire.")


@contextmanager
def session(config_file, database):
    """A transaction on the database as administrator of the first company,
    in French; committed when the block ends without error."""
    _load_config(config_file)
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    pool = Pool(database)
    pool.init()
    with Transaction().start(database, 0, readonly=False) as transaction:
        Company = pool.get('company.company')
        User = pool.get('res.user')
        companies = Company.search([], limit=1, order=[('id', 'ASC')])
        if not companies:
            sys.exit(f"La base « {database} » n'a pas de société.")
        admin, = User.search([('login', '=', 'admin')]) or [None]
        context = {
            'company': companies[0].id,
            'language': 'fr',
            'employee': None,
            }
        with transaction.set_context(context), \
                transaction.set_user(admin.id if admin else 0):
            yield pool


def _progress(done, total):
    if total:
        width = 30
        filled = int(width * done / total)
        bar = '#' * filled + '-' * (width - filled)
        print(f"\r[{bar}] {done}/{total} lignes", end='', file=sys.stderr,
            flush=True)
        if done >= total:
            print(file=sys.stderr)


def import_customers(args):
    from trytond.exceptions import UserError
    path = Path(args.file)
    if not path.is_file():
        sys.exit(f"Fichier introuvable : {path}")
    data = path.read_bytes()
    with session(args.config, args.database):
        from .customer_import import CustomerImport
        try:
            result = CustomerImport(
                partial=args.partial, progress=_progress).run(
                data, dry_run=args.dry_run)
        except UserError as exception:
            sys.exit(f"{path.name} : {exception.message}")
        print(result.summary_text())
        if args.report:
            Path(args.report).write_bytes(result.report_xlsx())
            print(f"Rapport : {args.report}")
        if result.summary['error'] and not args.partial:
            errors = [r for r in result.report_rows()
                if r[0] in {x.number for x in result.rows if x.errors}]
            for number, code, name, status, detail in errors[:20]:
                print(f"  ligne {number} ({name}) : {detail}",
                    file=sys.stderr)
            sys.exit(1)


def export_customers(args):
    with session(args.config, args.database) as pool:
        from .customer_import import export_xlsx
        Party = pool.get('party.party')
        parties = Party.search(
            [('crm_customer', '=', True)], order=[('code', 'ASC')])
        Path(args.file).write_bytes(export_xlsx(parties))
        print(f"{len(parties)} clients exportés dans {args.file}")


def reconcile(args):
    """Print the reconciliation of the CRM orders with their invoices;
    exit with 1 when the totals differ."""
    with session(args.config, args.database) as pool:
        from trytond.i18n import gettext

        from .reconciliation import reconcile as compute
        Company = pool.get('company.company')
        Lang = pool.get('ir.lang')
        Date = pool.get('ir.date')
        lang = Lang.get()
        from trytond.transaction import Transaction
        company = Company(Transaction().context['company'])
        today = Date.today()
        end = args.to_date or today
        start = args.from_date or end.replace(day=1)
        report = compute(company, start, end)

        def money(amount):
            return lang.currency(amount, company.currency)
        difference = report['orders_total'] - report['invoices_total']
        for sale in report['uninvoiced']:
            print(gettext(
                    'bol_air_crm.msg_reconcile_cli_uninvoiced',
                    sale=sale.rec_name, party=sale.party.rec_name,
                    amount=money(sale.total_amount)))
        for invoice in report['foreign']:
            print(gettext(
                    'bol_air_crm.msg_reconcile_cli_foreign',
                    invoice=invoice.rec_name, party=invoice.party.rec_name,
                    amount=money(invoice.total_amount)))
        print(gettext(
                'bol_air_crm.msg_reconcile_cli_summary',
                start=lang.strftime(start), end=lang.strftime(end),
                orders=len(report['orders']),
                orders_total=money(report['orders_total']),
                invoices_total=money(report['invoices_total'])))
        if difference or report['uninvoiced']:
            print(gettext(
                    'bol_air_crm.msg_reconcile_cli_mismatch',
                    difference=money(difference)))
            sys.exit(1)
        print(gettext('bol_air_crm.msg_reconcile_cli_ok'))


def _date(text):
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"date attendue au format AAAA-MM-JJ : {text}")


def parser():
    root = argparse.ArgumentParser(
        prog='bolair', description="Tâches d'administration du Bol d'Air")
    commands = root.add_subparsers(dest='command', required=True)

    def command(name, func, help):
        sub = commands.add_parser(name, help=help)
        sub.add_argument(
            '-c', '--config', required=True, help="fichier trytond.conf")
        sub.add_argument(
            '-d', '--database', required=True, help="nom de la base")
        sub.set_defaults(func=func)
        return sub

    sub = command('demo', demo, "construire la base de démonstration")
    sub.add_argument(
        '--annex', default=str(DEFAULT_ANNEX),
        help="fichier clients historique (annexe 2)")
    sub = command(
        'import-customers', import_customers,
        "importer un fichier clients (xlsx)")
    sub.add_argument('file', metavar='FICHIER.xlsx')
    sub.add_argument(
        '--dry-run', action='store_true',
        help="vérifier sans rien écrire")
    sub.add_argument(
        '--partial', action='store_true',
        help="importer les lignes valides même si d'autres sont en erreur")
    sub.add_argument(
        '--report', metavar='RAPPORT.xlsx', help="écrire le rapport ligne à "
        "ligne")

    sub = command(
        'export-customers', export_customers,
        "exporter le fichier clients (xlsx)")
    sub.add_argument('file', metavar='FICHIER.xlsx')

    sub = command(
        'reconcile', reconcile,
        "rapprocher les commandes confirmées et leurs factures")
    sub.add_argument(
        '--from', dest='from_date', type=_date, metavar='AAAA-MM-JJ',
        help="début de la période (par défaut le 1er du mois)")
    sub.add_argument(
        '--to', dest='to_date', type=_date, metavar='AAAA-MM-JJ',
        help="fin de la période (par défaut aujourd'hui)")
    return root


def main(argv=None):
    args = parser().parse_args(argv)
    args.config = str(Path(args.config).resolve())
    return args.func(args)


if __name__ == '__main__':
    main()
