# This file is part of bol_air_portal.
