# This file is part of bol_air_crm.
from decimal import Decimal

from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Id


class Configuration(ModelSingleton, ModelSQL, ModelView):
    __name__ = 'bol_air.configuration'
    __string__ = "CRM Configuration"

    meeting_sequence = fields.Many2One(
        'ir.sequence', "Meeting Sequence", required=True,
        domain=[
            ('sequence_type', '=',
                Id('bol_air_crm', 'sequence_type_meeting')),
            ],
        help="Used to number new meetings.")
    customer_sequence = fields.Many2One(
        'ir.sequence', "Customer Number Sequence", required=True,
        domain=[
            ('sequence_type', '=', Id('party', 'sequence_type_party')),
            ],
        help="Gives the customer number (N° client) of new customers.")
    host_reward_rate = fields.Numeric(
        "Host Reward Rate", digits=(1, 4), required=True,
        domain=[
            ('host_reward_rate', '>=', 0),
            ('host_reward_rate', '<=', 1),
            ],
        help="Share of the tax-included sales of a meeting given to "
        "its host (0.10 = 10 %).")
    reward_includes_host = fields.Boolean(
        "Host's Order in Reward",
        help="Count the host's own order in the sales her reward is "
        "computed on.")
    post_invoices = fields.Boolean(
        "Post Invoices at Closing",
        help="Post (number) the invoices of a meeting when it is closed. "
        "Unchecked, they stay in draft for the accountant to review.")

    import_max_size = fields.Integer(
        "Maximum Import Size", required=True,
        domain=[('import_max_size', '>=', 0)],
        help="In MB: larger customer files are refused before reading.")
    import_max_rows = fields.Integer(
        "Maximum Import Rows", required=True,
        domain=[('import_max_rows', '>', 0)],
        help="Longer customer files are refused before reading.")

    @classmethod
    def default_import_max_size(cls):
        return 20

    @classmethod
    def default_import_max_rows(cls):
        return 200_000

    @classmethod
    def default_meeting_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('bol_air_crm', 'sequence_meeting')
        except KeyError:
            return None

    @classmethod
    def default_customer_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('bol_air_crm', 'sequence_customer')
        except KeyError:
            return None

    @classmethod
    def default_host_reward_rate(cls):
        return Decimal('0.10')

    @classmethod
    def default_reward_includes_host(cls):
        return True

    @classmethod
    def default_post_invoices(cls):
        return True
