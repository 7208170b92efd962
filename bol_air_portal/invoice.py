# This file is part of bol_air_portal.
"""The customer invoice as a PDF without LibreOffice: an HTML template
that trytond turns into PDF with WeasyPrint (``extension`` pdf of the
``ir.action.report``), printed on demand, never stored."""
from trytond.modules.product import price_digits
from trytond.pool import Pool
from trytond.report import Report
from trytond.transaction import Transaction

# Company identifiers printed as legal mentions, in this order
COMPANY_IDENTIFIERS = ['fr_siret', 'fr_siren', 'fr_rcs']


class InvoiceReport(Report):
    "The customer invoice in French, as HTML turned into PDF"
    __name__ = 'bol_air_portal.invoice'

    @classmethod
    def _execute(cls, records, header, data, action):
        "Each invoice in its customer's language (else the database's)"
        pool = Pool()
        Configuration = pool.get('ir.configuration')
        Invoice = pool.get('account.invoice')
        invoice, = Invoice.browse(records[:1]) or [None]
        language = None
        if invoice and invoice.party.lang:
            language = invoice.party.lang.code
        with Transaction().set_context(
                language=language or Configuration.get_language()):
            return super()._execute(records, header, data, action)

    @classmethod
    def get_context(cls, records, header, data):
        pool = Pool()
        Lang = pool.get('ir.lang')
        context = super().get_context(records, header, data)
        context['lang'] = Lang.get()
        context['unit_price_digits'] = cls.unit_price_digits
        context['company_identifiers'] = cls.company_identifiers
        return context

    @staticmethod
    def unit_price_digits(value, currency):
        """The digits to show a unit price: the currency's, more only when
        the price has more (8.3333 excl. VAT for 10.00 incl. VAT)"""
        exponent = value.normalize().as_tuple().exponent if value else 0
        return min(max(currency.digits, -exponent), price_digits[1])

    @staticmethod
    def company_identifiers(invoice):
        "The company's registration numbers (SIRET, SIREN, RCS) by type"
        found = {}
        for identifier in invoice.company.party.identifiers:
            if identifier.type in COMPANY_IDENTIFIERS and identifier.code:
                found.setdefault(identifier.type, identifier.code)
        return found
