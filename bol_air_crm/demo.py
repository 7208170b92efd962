# This file is part of bol_air_crm.
"""Build the demonstration database of Le Bol d'Air with proteus.

Run through ``bolair demo -c CONFIG -d DATABASE``; every step is idempotent
enough to be skipped when the company already exists."""
import datetime as dt
import logging
from decimal import Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta

logger = logging.getLogger(__name__)

COMPANY = {
    'name': "Le Bol d'Air",
    'street': "44 route des Arènes romaines",
    'postal_code': "87000",
    'city': "Limoges",
    # Fictional numbers, valid in form (Luhn, VAT key): the legal mentions
    # of the invoices
    'siret': "87420431610001",
    'vat': "FR01874204316",
    }
AMBASSADORS = [
    # name, login, demo password
    ("Maryse Brun", 'maryse', 'maryse-demo'),
    ("Remy Albando", 'remy', 'remy-demo'),
    ]
# login, name, demo password
ACCOUNTANT = ('compta', "Claire Comptable", 'compta-demo')
# Tableware catalogue: name, code, price tax included
PRODUCTS = [
    ("Assiette plate Limoges 27 cm", 'AP27', Decimal('14.90')),
    ("Assiette creuse Limoges 22 cm", 'AC22', Decimal('13.90')),
    ("Assiette à dessert 20 cm", 'AD20', Decimal('11.50')),
    ("Bol Bol d'Air 50 cl", 'BOL50', Decimal('9.90')),
    ("Tasse à café et soucoupe", 'TCS', Decimal('12.50')),
    ("Mug grès émaillé 35 cl", 'MUG35', Decimal('10.90')),
    ("Plat ovale de service 35 cm", 'PO35', Decimal('39.00')),
    ("Saladier porcelaine 25 cm", 'SAL25', Decimal('34.50')),
    ("Théière 1 l", 'TH1', Decimal('49.00')),
    ("Carafe verre soufflé 1 l", 'CAR1', Decimal('29.90')),
    ("Verre à eau (lot de 6)", 'VE6', Decimal('32.00')),
    ("Flûte à champagne (lot de 6)", 'FL6', Decimal('42.00')),
    ("Ménagère 24 pièces", 'MEN24', Decimal('129.00')),
    ("Service à fondue 6 personnes", 'FON6', Decimal('89.00')),
    ("Coffret 6 ramequins", 'RAM6', Decimal('24.90')),
    ]
ADDRESSES = {
    # customer number: street, postal code, city
    '3': ("12 rue des Tanneries", "87000", "Limoges"),
    '10': ("5 allée des Tilleuls", "87100", "Limoges"),
    '22': ("8 chemin du Moulin", "87220", "Feytiat"),
    '34': ("27 avenue du Général Leclerc", "87350", "Panazol"),
    }
VAT_RATE = Decimal('0.20')


def _untaxed(price):
    return (price / (1 + VAT_RATE)).quantize(Decimal('0.0001'))


def get_id(config, xml_id):
    from proteus import Model
    ModelData = Model.get('ir.model.data', config=config)
    return ModelData.get_id(xml_id, config.context)


def build(config, annex_path, today=None):
    "Fill the database behind the proteus config with the demo content"
    from proteus import Model
    Company = Model.get('company.company', config=config)
    if Company.find([]):
        logger.info("the demo company exists already: nothing to do")
        return False
    if today is None:
        today = dt.date.today()
    company = _create_company(config)
    accounts, tax = _create_accounting(config, company, today)
    category = _create_products(config, accounts, tax)
    ambassadors = _create_ambassadors(config, company)
    _create_accountant(config, company)
    customers = load_annex(config, annex_path)
    _extend(config, 'bol_air_loyalty', category=category,
        customers=customers)
    _create_meetings(config, company, customers, ambassadors, today)
    _create_interactions(config, customers, ambassadors, today)
    _create_objectives(config, company, ambassadors, today)
    _extend(config, 'bol_air_gdpr', customers=customers)
    _extend(config, 'bol_air_portal', customers=customers,
        category=category)
    _compute_segments(config)
    _close_config_wizard(config)
    return True


def _extend(config, module, **kwargs):
    """Let an activated module add its part of the demo: its
    ``demo.build(config, **kwargs)``"""
    import importlib

    from proteus import Model
    Module = Model.get('ir.module', config=config)
    if Module.find([('name', '=', module), ('state', '=', 'activated')]):
        importlib.import_module(f'{module}.demo').build(config, **kwargs)


def _close_config_wizard(config):
    "The demo is configured: the web client shows no set-up wizard"
    from proteus import Model
    Item = Model.get('ir.module.config_wizard.item', config=config)
    items = Item.find([('state', '!=', 'done')])
    for item in items:
        item.state = 'done'
    Item.save(items)


def _create_company(config):
    from proteus import Model, Wizard
    Party = Model.get('party.party', config=config)
    Country = Model.get('country.country', config=config)
    Currency = Model.get('currency.currency', config=config)
    Lang = Model.get('ir.lang', config=config)
    User = Model.get('res.user', config=config)

    france, = Country.find([('code', '=', 'FR')]) or [None]
    if not france:
        france = Country(name="France", code='FR', code3='FRA')
        france.save()
    eur, = Currency.find([('code', '=', 'EUR')]) or [None]
    if not eur:
        eur = Currency(
            name="Euro", symbol="€", code='EUR', numeric_code='978',
            rounding=Decimal('0.01'), digits=2)
        eur.save()
    fr, = Lang.find([('code', '=', 'fr')])

    party = Party(name=COMPANY['name'], lang=fr)
    address, = party.addresses or [party.addresses.new()]
    address.street = COMPANY['street']
    address.postal_code = COMPANY['postal_code']
    address.city = COMPANY['city']
    address.country = france
    party.save()
    address, = party.addresses
    party.identifiers.new(
        type='fr_siret', code=COMPANY['siret'], address=address)
    party.identifiers.new(type='eu_vat', code=COMPANY['vat'])
    party.save()

    company_config = Wizard('company.company.config', config=config)
    company_config.execute('company')
    company_config.form.party = party
    company_config.form.currency = eur
    company_config.form.timezone = 'Europe/Paris'
    company_config.execute('add')

    admin = User(config.user)
    admin.language = fr
    admin.save()
    config._context = User.get_preferences(True, {})
    company, = Model.get('company.company', config=config).find([])
    return company


def round_taxes_per_line(config):
    """Round the VAT of each line: an order of lines priced tax included
    then totals the prices the customer read (32.00 + 29.90 = 61.90, where
    rounding the tax of the whole document would give 61.91)"""
    from proteus import Model
    Configuration = Model.get('account.configuration', config=config)
    configuration = Configuration(1)
    configuration.tax_rounding = 'line'
    configuration.save()


def _create_accounting(config, company, today):
    from proteus import Model, Wizard
    AccountTemplate = Model.get('account.account.template', config=config)
    Account = Model.get('account.account', config=config)
    FiscalYear = Model.get('account.fiscalyear', config=config)
    SequenceStrict = Model.get('ir.sequence.strict', config=config)
    SequenceType = Model.get('ir.sequence.type', config=config)
    Tax = Model.get('account.tax', config=config)

    round_taxes_per_line(config)
    create_chart = Wizard('account.create_chart', config=config)
    create_chart.execute('account')
    create_chart.form.account_template = AccountTemplate(
        get_id(config, 'account_fr.root'))
    create_chart.form.company = company
    create_chart.execute('create_account')

    def account(code):
        record, = Account.find([
                ('code', '=', code), ('company', '=', company.id)])
        return record
    accounts = {
        'receivable': account('4111'),
        'payable': account('4011'),
        'revenue': account('7011'),
        'expense': account('6071'),
        }
    create_chart.form.account_receivable = accounts['receivable']
    create_chart.form.account_payable = accounts['payable']
    create_chart.form.category_account_revenue = accounts['revenue']
    create_chart.form.category_account_expense = accounts['expense']
    create_chart.execute('create_properties')

    start = today.replace(month=1, day=1)
    fiscalyear = FiscalYear(
        name=str(today.year), company=company,
        start_date=start, end_date=today.replace(month=12, day=31))
    move_type = SequenceType(
        get_id(config, 'account.sequence_type_account_move'))
    fiscalyear.move_sequence = SequenceStrict(
        name=f"Écritures {today.year}", sequence_type=move_type,
        company=company)
    fiscalyear.move_sequence.save()
    invoice_type = SequenceType(
        get_id(config, 'account_invoice.sequence_type_account_invoice'))
    invoice_sequence = SequenceStrict(
        name=f"Factures {today.year}", sequence_type=invoice_type,
        company=company, prefix=f"F{today.year}-", padding=5)
    invoice_sequence.save()
    credit_sequence = SequenceStrict(
        name=f"Avoirs {today.year}", sequence_type=invoice_type,
        company=company, prefix=f"AV{today.year}-", padding=5)
    credit_sequence.save()
    sequences, = fiscalyear.invoice_sequences
    sequences.out_invoice_sequence = invoice_sequence
    sequences.out_credit_note_sequence = credit_sequence
    sequences.in_invoice_sequence = invoice_sequence
    sequences.in_credit_note_sequence = credit_sequence
    fiscalyear.save()
    fiscalyear.click('create_period')

    tax, = Tax.find([
            ('company', '=', company.id),
            ('name', '=', "T.V.A. Vente de biens Taux Normal"),
            ])
    return accounts, tax


def create_account_category(config, accounts, tax, name="Arts de la table"):
    "Create the accounting category of the tableware: accounts and VAT"
    from proteus import Model
    Category = Model.get('product.category', config=config)
    category = Category(name=name)
    category.accounting = True
    category.account_revenue = accounts['revenue']
    category.account_expense = accounts['expense']
    category.customer_taxes.append(tax)
    category.save()
    return category


def _create_products(config, accounts, tax):
    from proteus import Model
    Template = Model.get('product.template', config=config)
    Uom = Model.get('product.uom', config=config)

    unit = Uom(get_id(config, 'product.uom_unit'))
    category = create_account_category(config, accounts, tax)
    for name, code, price in PRODUCTS:
        template = Template(
            name=name, type='goods', default_uom=unit, salable=True,
            sale_uom=unit, list_price=_untaxed(price),
            account_category=category)
        template.products[0].suffix_code = code
        template.save()
    return category


def create_ambassador(config, company, name, login, password, lang=None):
    """Create an ambassador: an employee of the company with a user in the
    Ambassador and Sales groups. Return the employee."""
    from proteus import Model
    Party = Model.get('party.party', config=config)
    Employee = Model.get('company.employee', config=config)
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Company = Model.get('company.company', config=config)

    party = Party(name=name, lang=lang)
    party.save()
    employee = Employee(party=party, company=company)
    employee.save()
    user = User(login=login, name=name, password=password, language=lang)
    user.companies.append(Company(company.id))
    user.company = Company(company.id)
    user.employees.append(employee)
    user.employee = employee
    for xml_id in ['bol_air_crm.group_crm_ambassador', 'sale.group_sale']:
        user.groups.append(Group(get_id(config, xml_id)))
    user.save()
    return employee


def _create_ambassadors(config, company):
    from proteus import Model
    Lang = Model.get('ir.lang', config=config)
    fr, = Lang.find([('code', '=', 'fr')])
    return {
        name: create_ambassador(config, company, name, login, password, fr)
        for name, login, password in AMBASSADORS}


def _create_accountant(config, company):
    "The accountant reads the invoices of the meetings, not the CRM"
    from proteus import Model
    User = Model.get('res.user', config=config)
    Group = Model.get('res.group', config=config)
    Company = Model.get('company.company', config=config)
    Lang = Model.get('ir.lang', config=config)
    fr, = Lang.find([('code', '=', 'fr')])
    login, name, password = ACCOUNTANT
    user = User(login=login, name=name, password=password, language=fr)
    user.companies.append(Company(company.id))
    user.company = Company(company.id)
    user.groups.append(
        Group(get_id(config, 'bol_air_crm.group_crm_accountant')))
    user.save()
    return user


def load_annex(config, path):
    """Import the former customer file through the customer import wizard,
    as the office would, then give the demo hosts an address."""
    from proteus import Model, Wizard
    Party = Model.get('party.party', config=config)
    Sequence = Model.get('ir.sequence', config=config)

    wizard = Wizard('bol_air.customer.import', config=config)
    wizard.form.file = Path(path).read_bytes()
    wizard.execute('check')
    wizard.execute('import_')
    parties = Party.find([('crm_customer', '=', True)])
    for party in parties:
        if party.code in ADDRESSES:
            street, postal_code, city = ADDRESSES[party.code]
            address, = party.addresses or [party.addresses.new()]
            address.street = street
            address.postal_code = postal_code
            address.city = city
    Party.save([p for p in parties if p.code in ADDRESSES])
    # New customers are numbered after the highest legacy number
    sequence = Sequence(get_id(config, 'bol_air_crm.sequence_customer'))
    sequence.number_next = max(int(p.code) for p in parties) + 1
    sequence.save()
    return {p.code: p for p in parties}


def _create_meetings(config, company, customers, ambassadors, today):
    from proteus import Model
    Meeting = Model.get('bol_air.meeting', config=config)
    Sale = Model.get('sale.sale', config=config)
    Product = Model.get('product.product', config=config)

    products = {p.code: p for p in Product.find([])}
    maryse = ambassadors["Maryse Brun"]
    remy = ambassadors["Remy Albando"]

    def at(days, hour, minute=0):
        day = today + relativedelta(days=days)
        return dt.datetime.combine(day, dt.time(hour, minute))

    def meeting(host, ambassador, start, guests):
        record = Meeting(
            host=customers[host], ambassador=ambassador, date=start,
            end_date=start + relativedelta(hours=3) if start else None)
        for code, attended, wants_to_host in guests:
            record.guests.new(
                party=customers[code], attended=attended,
                wants_to_host=wants_to_host)
        record.save()
        return record

    def order(record, code, lines):
        sale = Sale(party=customers[code], meeting=record)
        for product, quantity in lines:
            line = sale.lines.new()
            line.product = products[product]
            line.quantity = quantity
        sale.save()
        return sale

    # A meeting closed a month ago: its orders are confirmed
    closed = meeting('10', remy, at(-30, 14, 30), [
            ('8', True, False), ('9', True, False), ('11', True, False),
            ('12', True, True), ('14', True, False), ('15', False, False),
            ])
    order(closed, '8', [('AP27', 6), ('AC22', 6)])
    order(closed, '14', [('TH1', 1), ('TCS', 4)])
    order(closed, '12', [('MEN24', 1)])
    order(closed, '10', [('SAL25', 1), ('PO35', 1)])
    closed.click('plan')
    closed.click('hold')
    closed.click('close')

    # A meeting held two days ago, orders still to confirm
    held = meeting('3', maryse, at(-2, 20), [
            ('5', True, False), ('6', True, False), ('2', True, True),
            ])
    order(held, '6', [('BOL50', 4), ('MUG35', 2)])
    order(held, '2', [('VE6', 1), ('CAR1', 1)])
    held.click('plan')
    held.click('hold')

    # A meeting planned next week: the host becomes a prospective host
    planned = meeting('22', maryse, at(7, 19), [
            ('28', False, False), ('25', False, False),
            ])
    planned.click('plan')

    # A meeting being prepared, no date yet
    meeting('34', maryse, None, [('35', False, False)])


def _create_interactions(config, customers, ambassadors, today):
    from proteus import Model
    Interaction = Model.get('bol_air.interaction', config=config)
    maryse = ambassadors["Maryse Brun"]
    remy = ambassadors["Remy Albando"]
    rows = [
        ('22', maryse, 'phone', 'us', -10,
            "Accepte de recevoir une réunion chez elle la semaine prochaine.",
            None),
        ('2', maryse, 'meeting', 'customer', -2,
            "Souhaite organiser sa propre réunion en janvier.", 0),
        ('12', remy, 'phone', 'us', -20,
            "Rappeler pour fixer une date de réunion.", -3),
        ('19', remy, 'email', 'customer', -5,
            "Demande le catalogue de Noël.", 10),
        ('1', maryse, 'visit', 'us', -40,
            "Livraison de la commande, cliente très satisfaite.", None),
        ]
    records = []
    for (code, employee, channel, initiative, days, summary,
            follow_up) in rows:
        records.append(Interaction(
                party=customers[code], employee=employee, channel=channel,
                initiative=initiative,
                date=today + relativedelta(days=days), summary=summary,
                follow_up_date=(
                    today + relativedelta(days=follow_up)
                    if follow_up is not None else None)))
    Interaction.save(records)


def _create_objectives(config, company, ambassadors, today):
    "Objectives of both ambassadors for last month and this month"
    from proteus import Model
    Objective = Model.get('bol_air.objective', config=config)
    records = []
    for months, (revenue, meetings, new_hosts) in [
            (-1, ('400', 2, 1)), (0, ('500', 3, 1))]:
        month = today + relativedelta(months=months, day=1)
        for ambassador in ambassadors.values():
            records.append(Objective(
                    company=company, ambassador=ambassador, month=month,
                    revenue=Decimal(revenue), meetings=meetings,
                    new_hosts=new_hosts))
    Objective.save(records)


def _compute_segments(config):
    "Scores and segments, as the nightly job would leave them"
    from proteus import Wizard
    Wizard('bol_air.segmentation.compute', config=config).execute('compute')
