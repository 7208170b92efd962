# This file is part of bol_air_portal.
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.transaction import Transaction


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'bol_air.portal.configuration'
    __string__ = "Portal Configuration"

    company = fields.Many2One(
        'company.company', "Company", required=True,
        help="The company that sells on the portal: its orders and "
        "invoices.")

    @staticmethod
    def default_company():
        return Transaction().context.get('company')
