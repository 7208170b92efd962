# This file is part of bol_air_gdpr.
"""The register of processing activities (RGPD article 30): what personal
data is processed, why, on which legal basis, for whom and how long, with
each version of the wording shown to people and its hash."""
import hashlib

from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, Unique, fields)
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .exceptions import PurposeTextError

LEGAL_BASES = [
    ('consent', "Consent"),
    ('contract', "Contract"),
    ('legal_obligation', "Legal Obligation"),
    ('legitimate_interest', "Legitimate Interest"),
    ]


class Purpose(DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'bol_air.gdpr.purpose'
    __string__ = "Purpose of Processing"

    code = fields.Char(
        "Code", required=True,
        help="Short name the programs use (e.g. newsletter).")
    name = fields.Char("Name", required=True, translate=True)
    description = fields.Text("Description", translate=True)
    legal_basis = fields.Selection(
        LEGAL_BASES, "Legal Basis", required=True, sort=False,
        help="Consent: only with the person's current consent. The other "
        "bases apply unless the person opposed.")
    legal_basis_string = legal_basis.translated('legal_basis')
    data_categories = fields.Text(
        "Data Categories", translate=True,
        help="The kinds of personal data processed.")
    recipients = fields.Text(
        "Recipients", translate=True,
        help="Who receives the data.")
    retention = fields.Char(
        "Retention", translate=True,
        help="How long the data is kept, in words.")
    retention_months = fields.Integer(
        "Retention (Months)",
        domain=['OR',
            ('retention_months', '=', None),
            ('retention_months', '>', 0),
            ])
    texts = fields.One2Many(
        'bol_air.gdpr.purpose.text', 'purpose', "Wordings",
        order=[('version', 'DESC')])
    current_text = fields.Function(
        fields.Many2One('bol_air.gdpr.purpose.text', "Current Wording"),
        'get_current_text')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('code_unique', Unique(t, t.code),
                'bol_air_gdpr.msg_purpose_code_unique'),
            ]
        cls._order.insert(0, ('name', 'ASC'))

    @classmethod
    def get_current_text(cls, purposes, name):
        pool = Pool()
        Text = pool.get('bol_air.gdpr.purpose.text')
        result = dict.fromkeys([p.id for p in purposes])
        for text in Text.search([
                    ('purpose', 'in', [p.id for p in purposes]),
                    ], order=[('version', 'ASC')]):
            result[text.purpose.id] = text.id
        return result

    def party_domain(self):
        """The domain on party.party keeping the people this purpose may
        process now: their latest entry gives consent when the legal basis
        is consent, otherwise they did not oppose (no withdrawal as latest
        entry)"""
        Consent = Pool().get('bol_air.gdpr.consent')
        if self.legal_basis == 'consent':
            return [('id', 'in', Consent.current_query([self.id], 'given'))]
        return [
            ('id', 'not in', Consent.current_query([self.id], 'withdrawn')),
            ]

    @classmethod
    def by_code(cls, code):
        purpose, = cls.search([('code', '=', code)], limit=1)
        return purpose


class PurposeText(ModelSQL, ModelView):
    "A version of the wording people read before agreeing"
    __name__ = 'bol_air.gdpr.purpose.text'
    __string__ = "Purpose Wording"
    _rec_name = 'text'

    purpose = fields.Many2One(
        'bol_air.gdpr.purpose', "Purpose", required=True,
        ondelete='RESTRICT')
    version = fields.Integer("Version", readonly=True)
    date = fields.Date("Date", required=True)
    text = fields.Text(
        "Text", required=True,
        states={
            'readonly': Eval('id', -1) >= 0,
            },
        help="The exact words shown or printed; a new wording is a new "
        "version.")
    hash = fields.Char(
        "SHA-256", readonly=True,
        help="Fingerprint of the text: proves which words were read.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('version_unique', Unique(t, t.purpose, t.version),
                'bol_air_gdpr.msg_purpose_text_version_unique'),
            ]
        cls._order = [
            ('purpose', 'ASC'), ('version', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    def get_rec_name(self, name):
        return f"{self.purpose.rec_name} v{self.version}"

    @staticmethod
    def digest(text):
        return hashlib.sha256((text or '').encode('utf-8')).hexdigest()

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if mode == 'create':
            values['hash'] = cls.digest(values.get('text'))
            if not values.get('version') and values.get('purpose'):
                others = cls.search(
                    [('purpose', '=', values['purpose'])],
                    order=[('version', 'DESC')], limit=1)
                values['version'] = (others[0].version + 1) if others else 1
        return values

    @classmethod
    def check_modification(cls, mode, texts, values=None, external=False):
        super().check_modification(
            mode, texts, values=values, external=external)
        if (mode == 'delete'
                or (mode == 'write'
                    and values.keys() & {'text', 'purpose', 'version'})):
            raise PurposeTextError(gettext(
                    'bol_air_gdpr.msg_purpose_text_frozen'))

    @classmethod
    def copy(cls, texts, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('version', None)
        return super().copy(texts, default=default)


def register_xlsx(purposes):
    """The register of processing (article 30) as a workbook: one row a
    purpose, with its current wording and the wording's fingerprint"""
    import io

    import openpyxl

    from bol_air_crm.cleaning import safe_cell
    pool = Pool()
    Purpose = pool.get('bol_air.gdpr.purpose')
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext('bol_air_gdpr.msg_register_sheet'))
    names = ['name', 'code', 'legal_basis', 'description', 'data_categories',
        'recipients', 'retention', 'retention_months']
    labels = Purpose.fields_get(names)
    sheet.append([labels[n]['string'] for n in names] + [
            gettext('bol_air_gdpr.msg_register_text'),
            gettext('bol_air_gdpr.msg_register_version'),
            gettext('bol_air_gdpr.msg_register_hash')])
    for purpose in purposes:
        text = purpose.current_text
        sheet.append([safe_cell(v) for v in [
                    purpose.name, purpose.code,
                    purpose.legal_basis_string, purpose.description,
                    purpose.data_categories, purpose.recipients,
                    purpose.retention, purpose.retention_months,
                    text.text if text else None,
                    text.version if text else None,
                    text.hash if text else None]])
    output = io.BytesIO()
    workbook.save(output)
    return output.getvalue()


class RegisterExportResult(ModelView):
    __name__ = 'bol_air.gdpr.register.export.result'
    __string__ = "Export the Register of Processing"

    file = fields.Binary("File", filename='filename', readonly=True)
    filename = fields.Char("File Name", readonly=True)
    count = fields.Integer("Purposes", readonly=True)


class RegisterExport(Wizard):
    "The register of processing (article 30) as a spreadsheet"
    __name__ = 'bol_air.gdpr.register.export'

    start = StateTransition()
    result = StateView(
        'bol_air.gdpr.register.export.result',
        'bol_air_gdpr.register_export_result_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_start(self):
        pool = Pool()
        Purpose = pool.get('bol_air.gdpr.purpose')
        purposes = Purpose.search([], order=[('name', 'ASC'), ('id', 'ASC')])
        self.result.file = register_xlsx(purposes)
        self.result.filename = gettext('bol_air_gdpr.msg_register_filename')
        self.result.count = len(purposes)
        return 'result'

    def default_result(self, fields):
        return {f: getattr(self.result, f, None) for f in fields}
