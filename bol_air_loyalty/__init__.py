# This file is part of bol_air_loyalty.  Models are registered in tryton.cfg.
