# This file is part of bol_air_crm.
"""Reconciliation of the CRM orders with the invoices, for a period."""
import datetime as dt
from decimal import Decimal

from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateView, Wizard

from .sale import CONFIRMED_SALE_STATES


def reconcile(company, start, end):
    """Compare, for the period, the confirmed CRM orders with their
    invoices. Return a dict with the orders, their total, the total of
    their invoices, the orders without invoice and the customer invoices
    without CRM origin."""
    pool = Pool()
    Sale = pool.get('sale.sale')
    Invoice = pool.get('account.invoice')
    Link = pool.get('bol_air.sale.invoice')
    orders = Sale.search([
            *Sale.crm_domain(),
            ('company', '=', company.id),
            ('state', 'in', CONFIRMED_SALE_STATES),
            ('sale_date', '>=', start),
            ('sale_date', '<=', end),
            ], order=[('sale_date', 'ASC'), ('id', 'ASC')])
    invoiced = {}
    for link in Link.search([('sale', 'in', [o.id for o in orders])]):
        if link.invoice.state != 'cancelled':
            invoiced[link.sale.id] = link.invoice
    start_time = dt.datetime.combine(start, dt.time())
    end_time = dt.datetime.combine(end + dt.timedelta(days=1), dt.time())
    candidates = Invoice.search([
            ('company', '=', company.id),
            ('type', '=', 'out'),
            ('state', '!=', 'cancelled'),
            ('meeting', '=', None),
            ['OR', [
                    ('invoice_date', '>=', start),
                    ('invoice_date', '<=', end),
                    ], [
                    ('invoice_date', '=', None),
                    ('create_date', '>=', start_time),
                    ('create_date', '<', end_time),
                    ]],
            ], order=[('invoice_date', 'ASC'), ('id', 'ASC')])
    linked = {l.invoice.id for l in Link.search([
                ('invoice', 'in', [i.id for i in candidates]),
                ])}
    return {
        'orders': orders,
        'orders_total': sum(
            (o.total_amount for o in orders), Decimal(0)),
        'invoices_total': sum(
            (i.total_amount for i in invoiced.values()), Decimal(0)),
        'uninvoiced': [o for o in orders if o.id not in invoiced],
        'foreign': [i for i in candidates if i.id not in linked],
        }


class ReconcileStart(ModelView):
    __name__ = 'bol_air.reconcile.start'
    __string__ = "Reconcile Orders and Invoices"

    company = fields.Many2One('company.company', "Company", required=True)
    start_date = fields.Date("From", required=True)
    end_date = fields.Date(
        "To", required=True,
        domain=[('end_date', '>=', Eval('start_date'))])

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_start_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today().replace(day=1)

    @classmethod
    def default_end_date(cls):
        pool = Pool()
        Date = pool.get('ir.date')
        return Date.today()


class ReconcileResult(ModelView):
    __name__ = 'bol_air.reconcile.result'
    __string__ = "Reconciliation of Orders and Invoices"

    start_date = fields.Date("From", readonly=True)
    end_date = fields.Date("To", readonly=True)
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    order_count = fields.Integer("Confirmed Orders", readonly=True)
    orders_total = fields.Numeric(
        "Orders Total", digits=(16, 2), readonly=True,
        help="Tax-included total of the confirmed CRM orders of the period.")
    invoices_total = fields.Numeric(
        "Invoices Total", digits=(16, 2), readonly=True,
        help="Tax-included total of the invoices of those orders.")
    difference = fields.Numeric("Difference", digits=(16, 2), readonly=True)
    matched = fields.Boolean(
        "Totals Match", readonly=True,
        help="Every confirmed order has its invoice, for the same amount.")
    uninvoiced_orders = fields.Many2Many(
        'sale.sale', None, None, "Confirmed Orders without Invoice",
        readonly=True)
    foreign_invoices = fields.Many2Many(
        'account.invoice', None, None, "Invoices without CRM Origin",
        readonly=True)


class Reconcile(Wizard):
    __name__ = 'bol_air.reconcile'
    __string__ = "Reconcile Orders and Invoices"

    start = StateView(
        'bol_air.reconcile.start',
        'bol_air_crm.reconcile_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Compare", 'result', 'tryton-ok', default=True),
            ])
    result = StateView(
        'bol_air.reconcile.result',
        'bol_air_crm.reconcile_result_view_form', [
            Button("Other Period", 'start', 'tryton-back'),
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def default_result(self, fields):
        report = reconcile(
            self.start.company, self.start.start_date, self.start.end_date)
        difference = report['orders_total'] - report['invoices_total']
        return {
            'start_date': self.start.start_date,
            'end_date': self.start.end_date,
            'currency': self.start.company.currency.id,
            'order_count': len(report['orders']),
            'orders_total': report['orders_total'],
            'invoices_total': report['invoices_total'],
            'difference': difference,
            'matched': not difference and not report['uninvoiced'],
            'uninvoiced_orders': [o.id for o in report['uninvoiced']],
            'foreign_invoices': [i.id for i in report['foreign']],
            }
