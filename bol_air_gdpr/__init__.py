# This file is part of bol_air_gdpr.  Models are registered in tryton.cfg.
