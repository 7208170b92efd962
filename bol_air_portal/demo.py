# This file is part of bol_air_portal.
"""The portal's part of the demo (``bolair demo``)."""


def build(config, customers, category, **kwargs):
    from proteus import Model
    Configuration = Model.get('bol_air.portal.configuration', config=config)
    Company = Model.get('company.company', config=config)
    configuration = Configuration(1)
    configuration.company, = Company.find([])
    configuration.save()
