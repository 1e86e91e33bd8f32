"""What the @crons tests share: a REST client logged in as the Zope admin."""

from tests.support.rest import rest_session

import pytest


@pytest.fixture
def api(functional_portal):
    session = rest_session(functional_portal)
    yield session
    session.close()
