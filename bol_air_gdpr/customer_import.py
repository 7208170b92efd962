# This file is part of bol_air_gdpr.
"""The customer export of the CRM keeps only the people the chosen purpose
may process: a withdrawal is effective at the next export."""
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.wizard import Button, StateView


class ExportStart(ModelView):
    __name__ = 'bol_air.customer.export.start'
    __string__ = "Export Customers"

    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", required=True,
        help="What the file is for: only the people whose consent (or "
        "absence of opposition) covers it are exported.")

    @classmethod
    def default_purpose(cls):
        Purpose = Pool().get('bol_air.gdpr.purpose')
        purposes = Purpose.search([('code', '=', 'customer')], limit=1)
        return purposes[0].id if purposes else None


class Export(metaclass=PoolMeta):
    __name__ = 'bol_air.customer.export'
    start_state = 'purpose'
    purpose = StateView(
        'bol_air.customer.export.start',
        'bol_air_gdpr.customer_export_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Export", 'start', 'tryton-ok', default=True),
            ])

    def _domain(self):
        return super()._domain() + self.purpose.purpose.party_domain()
