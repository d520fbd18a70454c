import pytest

from app.incident.config import get_incident_settings
from app.wiring import wire
from tests.pages.conftest import csrf, triager  # noqa: F401 - a signed-in staff client for page tests


@pytest.fixture(autouse=True)
def _wired_and_fresh_settings():
    wire()  # incident hooks (board rank) as the app has them
    get_incident_settings.cache_clear()
    yield
    get_incident_settings.cache_clear()
