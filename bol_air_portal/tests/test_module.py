# This file is part of bol_air_portal.
from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class BolAirPortalTestCase(CompanyTestMixin, ModuleTestCase):
    "Test Bol d'Air portal module"
    module = 'bol_air_portal'


del ModuleTestCase
