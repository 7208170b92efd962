# This file is part of bol_air_crm.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.modules.party.tests import (
    PartyCheckEraseMixin, PartyCheckReplaceMixin)
from trytond.tests.test_tryton import ModuleTestCase


class BolAirCrmTestCase(
        PartyCheckEraseMixin, PartyCheckReplaceMixin, CompanyTestMixin,
        ModuleTestCase):
    "Test Bol d'Air CRM module"
    module = 'bol_air_crm'


del ModuleTestCase
