# This file is part of bol_air_loyalty.
"""Vouchers on orders: a deduction line of the voucher product, never more
than the order, spent when the order is confirmed (guard row first, then
the use, with constraints as the backstop)."""
from decimal import Decimal

from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import VoucherError


class Sale(metaclass=PoolMeta):
    __name__ = 'sale.sale'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'apply_voucher_wizard': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                })

    @classmethod
    @ModelView.button_action('bol_air_loyalty.wizard_apply_voucher')
    def apply_voucher_wizard(cls, sales):
        pass

    @property
    def amount_before_vouchers(self):
        "Tax-included total of the lines that are not voucher deductions"
        return sum((l.amount_tax_included or Decimal(0)
                for l in self.lines
                if l.type == 'line' and not l.voucher),
            Decimal(0))

    def apply_voucher(self, voucher):
        """Add voucher as a deduction line of what is left on it, never
        more than the order; return the line. Spent at confirmation."""
        pool = Pool()
        Configuration = pool.get('bol_air.configuration')
        Line = pool.get('sale.line')
        Date = pool.get('ir.date')
        product = Configuration(1).voucher_product
        if not product:
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_product_missing'))
        voucher.check_usable(self.party, Date.today())
        if self.state != 'draft':
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_sale_state',
                    sale=self.rec_name))
        if any(l.voucher == voucher for l in self.lines):
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_already_on_sale',
                    voucher=voucher.rec_name, sale=self.rec_name))
        deducted = -sum((l.amount_tax_included or Decimal(0)
                for l in self.lines if l.voucher), Decimal(0))
        amount = min(voucher.remaining, self.amount_before_vouchers - deducted)
        if amount <= 0:
            raise VoucherError(gettext(
                    'bol_air_loyalty.msg_voucher_nothing_to_deduct',
                    sale=self.rec_name))
        line = Line(
            sale=self, type='line', product=product, quantity=1,
            unit=product.sale_uom, voucher=voucher,
            sequence=(max((l.sequence or 0 for l in self.lines), default=0)
                + 1))
        line.on_change_product()
        line.description = gettext(
            'bol_air_loyalty.msg_voucher_line_description',
            code=voucher.code)
        line.unit_price = line._untaxed_unit_price(-amount)
        line.save()
        return line

    @classmethod
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, sales):
        pool = Pool()
        Voucher = pool.get('bol_air.voucher')
        with without_check_access():
            Voucher.spend([l for s in sales for l in s.lines if l.voucher])
        super().confirm(sales)

    @classmethod
    def copy(cls, sales, default=None):
        # A copy never carries the vouchers of the original order
        new_sales = super().copy(sales, default=default)
        SaleLine = Pool().get('sale.line')
        SaleLine.delete([l for s in new_sales for l in s.lines if l.voucher])
        return new_sales


class SaleLine(metaclass=PoolMeta):
    __name__ = 'sale.line'

    voucher = fields.Many2One(
        'bol_air.voucher', "Voucher", readonly=True, ondelete='RESTRICT',
        states={
            'invisible': ~Eval('voucher'),
            })

    @classmethod
    def copy(cls, lines, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('voucher', None)
        return super().copy(lines, default=default)


class ApplyVoucherStart(ModelView):
    __name__ = 'bol_air.voucher.apply.start'
    __string__ = "Apply Voucher"

    code = fields.Char(
        "Voucher Code", required=True,
        help="The code printed on the voucher, with or without dashes.")


class ApplyVoucher(Wizard):
    "Deduct a purchase voucher from an order"
    __name__ = 'bol_air.voucher.apply'

    start = StateView(
        'bol_air.voucher.apply.start',
        'bol_air_loyalty.apply_voucher_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Apply", 'apply', 'tryton-ok', default=True),
            ])
    apply = StateTransition()

    def transition_apply(self):
        pool = Pool()
        Voucher = pool.get('bol_air.voucher')
        voucher = Voucher.find_code(self.start.code, self.record.party)
        self.record.apply_voucher(voucher)
        return 'end'
