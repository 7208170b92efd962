# This file is part of bol_air_portal.
from . import routes  # noqa: F401
