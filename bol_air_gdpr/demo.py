# This file is part of bol_air_gdpr.
"""Demo consents (through proteus): the buyers of the closed meeting signed
the newsletter form there; one of them withdrew since by phone."""


def build(config, customers):
    from proteus import Model, Wizard

    from trytond.pyson import PYSONEncoder
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

    # The Christmas newsletter to the whole customer file: only those who
    # signed the newsletter form are kept
    TargetList = Model.get('bol_air.target.list', config=config)
    target = TargetList(
        name="Lettre de Noël", purpose=newsletter,
        criteria=PYSONEncoder().encode([]))
    target.save()
    target.click('fill')
