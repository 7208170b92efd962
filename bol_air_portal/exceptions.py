# This file is part of bol_air_portal.  Typed errors shown to users.
from trytond.exceptions import UserError
from trytond.model.exceptions import ValidationError


class PortalError(UserError):
    "An input of the portal refused, with a message for the customer"


class PasswordPolicyError(PortalError):
    "A password that does not follow the portal's policy"


class PortalImageError(ValidationError):
    "A picture that is not a PNG, JPEG or WebP image, or too large"
