"""zope.testbrowser against the functional layer, logged in as the site owner."""

from plone.app.testing import SITE_OWNER_NAME
from plone.app.testing import SITE_OWNER_PASSWORD
from plone.testing.zope import Browser

import pytest
import transaction


@pytest.fixture
def browser(functional_app, functional_portal):
    transaction.commit()
    browser = Browser(functional_app)
    browser.handleErrors = False
    browser.addHeader("Authorization", f"Basic {SITE_OWNER_NAME}:{SITE_OWNER_PASSWORD}")
    return browser


@pytest.fixture
def anonymous(functional_app, functional_portal):
    transaction.commit()
    browser = Browser(functional_app)
    browser.handleErrors = True
    return browser
