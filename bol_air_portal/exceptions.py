# This file is part of bol_air_portal.
from trytond.exceptions import UserError


class PortalError(UserError):
    "An input of the portal refused, with a message for the customer"


class PasswordPolicyError(PortalError):
    "A password that does not follow the portal's policy"
