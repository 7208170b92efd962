# This file is part of bol_air_loyalty.
"""Demo and test data of the loyalty programme (through proteus)."""
from decimal import Decimal


def create_voucher_product(config, category):
    """The "Bon d'achat" service of the deduction lines, in the accounting
    category of the tableware (same VAT: a voucher lowers the price the
    VAT is computed on), set in the configuration."""
    from proteus import Model

    from bol_air_crm.demo import get_id
    Template = Model.get('product.template', config=config)
    Uom = Model.get('product.uom', config=config)
    Configuration = Model.get('bol_air.configuration', config=config)
    unit = Uom(get_id(config, 'product.uom_unit'))
    template = Template(
        name="Bon d'achat", type='service', default_uom=unit,
        salable=True, sale_uom=unit, list_price=Decimal(0),
        account_category=category)
    template.save()
    product, = template.products
    configuration = Configuration(1)
    configuration.voucher_product = product
    configuration.save()
    return product


# Customers of the annex (N° client) who hold a loyalty card: the guests
# and the host of the closed meeting earn their points and the host's
# voucher when the demo closes it
CARD_HOLDERS = ['1', '2', '3', '5', '8', '10', '12', '14', '21', '30']


def build(config, category, customers):
    "The voucher product, and cards for some of the annex's customers"
    from proteus import Model
    Account = Model.get('bol_air.loyalty.account', config=config)
    create_voucher_product(config, category)
    Account.save([Account(party=customers[code]) for code in CARD_HOLDERS])
