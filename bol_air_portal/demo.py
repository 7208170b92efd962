# This file is part of bol_air_portal.
"""The portal's part of the demo (``bolair demo``)."""

# The demo customer of the portal: the host of the closed meeting (an
# order, loyalty points and her host voucher)
DEMO_CUSTOMER = '10'
DEMO_EMAIL = 'anna.verdou@example.com'
DEMO_PASSWORD = 'bolair-demo-2026'


def build(config, customers, category, **kwargs):
    from proteus import Model
    Configuration = Model.get('bol_air.portal.configuration', config=config)
    Company = Model.get('company.company', config=config)
    configuration = Configuration(1)
    configuration.company, = Company.find([])
    configuration.save()
    _demo_customer(config, customers)


def _demo_customer(config, customers):
    """Give one demo customer a validated portal account (README: its
    e-mail and the password ``bolair-demo-2026``)"""
    from proteus import Model
    WebUser = Model.get('web.user', config=config)
    party = customers[DEMO_CUSTOMER]
    party.reload()
    if not party.email:
        mechanism = party.contact_mechanisms.new()
        mechanism.type = 'email'
        mechanism.value = DEMO_EMAIL
        party.save()
    user = WebUser(email=party.email, party=party, email_valid=True)
    user.password = DEMO_PASSWORD
    user.save()
    return user
