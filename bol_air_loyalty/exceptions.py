# This file is part of bol_air_loyalty.  Typed errors shown to users.
from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError


class LoyaltyError(UserError):
    pass


class LoyaltyMoveAccessError(AccessError):
    "A posted move of the ledger is never changed"
    pass


class VoucherError(UserError):
    pass
