# This file is part of bol_air_portal.
"""The portal's pages, one file per part: the account (log in, sign up),
the shop (catalogue, cart, checkout) and the customer's space."""
from . import auth  # noqa: F401
from . import account  # noqa: F401
from . import shop  # noqa: F401
