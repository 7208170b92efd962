# This file is part of bol_air_gdpr.
"""Demo consents (through proteus): the buyers of the closed meeting signed
the newsletter form there; one of them withdrew since by phone."""


def build(config, customers):
    from proteus import Model, Wizard
    Meeting = Model.get('bol_air.meeting', config=config)
    Purpose = Model.get('bol_air.gdpr.purpose', config=config)
    Status = Model.get('bol_air.gdpr.consent.status', config=config)
    newsletter, = Purpose.find([('code', '=', 'newsletter')])
    sms, = Purpose.find([('code', '=', 'sms')])
    closed, = Meeting.find([('state', '=', 'closed')])
    buyers = [s.party for s in closed.sales]
    for party in buyers:
        for purpose in [newsletter, sms]:
            record = Wizard('bol_air.gdpr.consent.record', [party],
                config=config)
            record.form.purpose = purpose
            record.form.channel = 'paper'
            record.form.meeting = closed
            record.execute('record_')
    status, = Status.find([
            ('party', '=', customers['14'].id),
            ('purpose', '=', sms.id),
            ])
    status.click('withdraw')
