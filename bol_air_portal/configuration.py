# This file is part of bol_air_portal.
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'bol_air.portal.configuration'
    __string__ = "Portal Configuration"

    company = fields.Many2One(
        'company.company', "Company", required=True,
        help="The company that sells on the portal: its orders and "
        "invoices.")

    @classmethod
    def default_company(cls):
        """The company of the context, else the only one (portal pages run
        as user 0, without company in their context)"""
        pool = Pool()
        Company = pool.get('company.company')
        company = Transaction().context.get('company')
        if company:
            return company
        companies = Company.search([], limit=2)
        if len(companies) == 1:
            return companies[0].id
