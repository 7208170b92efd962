# This file is part of bol_air_crm.
"""Shared set-up of the scenarios: a company with a chart of accounts,
a fiscal year, a 20 % tax, two products and two ambassadors with their
users. Pass ``setup_crm`` to ``activate_modules`` so the result is cached
(DB_CACHE) with the activated database."""
import datetime as dt
from decimal import Decimal

from proteus import Model
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, create_tax, get_accounts)
from trytond.modules.account_invoice.tests.tools import (
    set_fiscalyear_invoice_sequences)
from trytond.modules.company.tests.tools import create_company, get_company

from ..demo import (
    create_account_category, create_ambassador, round_taxes_per_line)

AMBASSADOR_PASSWORD = 'ambassador-pass'


def setup_crm(config):
    create_company(config=config)
    round_taxes_per_line(config)
    create_chart(config=config)
    company = get_company(config=config)
    today = dt.date.today()
    for year in [today - dt.timedelta(days=500), today]:
        fiscalyear = set_fiscalyear_invoice_sequences(
            create_fiscalyear(company, today=year, config=config),
            config=config)
        fiscalyear.click('create_period')
    accounts = get_accounts(company, config=config)

    tax = create_tax(Decimal('.20'), company=company, config=config)
    tax.save()

    category = create_account_category(config, accounts, tax)

    Uom = Model.get('product.uom', config=config)
    unit, = Uom.find([('name', '=', 'Unit')])
    Template = Model.get('product.template', config=config)
    for name, price in [
            ("Assiette", Decimal('10.0000')),
            ("Théière", Decimal('40.0000'))]:
        template = Template(
            name=name, type='service', default_uom=unit, salable=True,
            list_price=price, account_category=category)
        template.save()

    for name, login in [("Maryse Brun", 'maryse'), ("Remy Albando", 'remy')]:
        create_ambassador(
            config, company, name, login, AMBASSADOR_PASSWORD)


def get_ambassador(login, config=None):
    "Return the user and the employee of an ambassador"
    User = Model.get('res.user', config=config)
    user, = User.find([('login', '=', login)])
    return user, user.employee
