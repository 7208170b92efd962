# This file is part of bol_air_loyalty.
"""Set-up of the loyalty scenarios: the CRM's (company, chart, fiscal
years, 20 % VAT, products, ambassadors) and the voucher product. Pass
``setup_loyalty`` to ``activate_modules`` so the result is cached."""
from proteus import Model

from bol_air_crm.tests.tools import setup_crm

from ..demo import create_voucher_product


def setup_loyalty(config):
    setup_crm(config)
    Category = Model.get('product.category', config=config)
    category, = Category.find([('accounting', '=', True)])
    create_voucher_product(config, category)
