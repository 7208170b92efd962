# This file is part of bol_air_portal.
"""The customer's space ("Mon compte")."""
from ..portal import route


@route('/account')
def account(page):
    return page.render('account.html')
