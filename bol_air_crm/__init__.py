# This file is part of bol_air_crm.  Models are registered in tryton.cfg.
