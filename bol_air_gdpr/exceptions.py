# This file is part of bol_air_gdpr.  Typed errors shown to users.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class ConsentError(UserError):
    pass


class ConsentAccessError(AccessError):
    "The consent ledger is never rewritten"
    pass


class PurposeTextError(UserError):
    pass


class RequestError(UserError):
    pass


class TargetListError(UserError):
    pass
