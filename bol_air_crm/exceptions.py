# This file is part of bol_air_crm.  Typed errors shown to users.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class MeetingError(UserError):
    pass


class MeetingValidationError(ValidationError):
    pass


class SaleMeetingError(ValidationError):
    pass


class SaleInvoiceError(UserError):
    "An order would get a second invoice"
    pass


class ImportFileError(UserError):
    "The customer file cannot be imported at all"
    pass


class LeadError(UserError):
    pass


class CallListValidationError(ValidationError):
    "A person who may not be phoned put in a call list"
    pass
