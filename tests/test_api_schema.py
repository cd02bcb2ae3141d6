"""The API keeps to its own OpenAPI schema: schemathesis calls every operation, as a patient with a token,
with generated input, through Django's WSGI application. No 5xx, and every answer is one the schema
documents (status code, content type, headers, body)."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import ApiToken
from portal.wsgi import application
from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.factories import PredictionFactory, ReviewFactory, ScanFactory, UserFactory, private_media  # noqa: F401

SCHEMA_PATH = "/api/v1/schema/"
MAX_EXAMPLES = 20


# Loaded at collection through the app itself: making the schema needs no database. (Loading it
# from a fixture with schemathesis.pytest.from_fixture fails under pytest 9.)
schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, application)
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
)


@pytest.fixture(autouse=True)
def requests_stay_in_the_tests_transaction():
    """Requests through the WSGI application close the database connection when they end, which would
    end the test's transaction; Django's test client disconnects the same handlers for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def patient_token(db, monkeypatch):
    """A patient with a finished, a reviewed and a DICOM X-ray, and a token; throttles out of the way."""
    for scope in ("anon", "user", "token"):
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scope, "100000/minute")
    patient = UserFactory()
    PredictionFactory(scan__owner=patient)
    ReviewFactory(prediction__scan__owner=patient)
    ScanFactory(owner=patient, dicom=True)
    _, key = ApiToken.issue(patient, "schemathesis")
    return key


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_every_operation_keeps_to_the_schema(case, patient_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {patient_token}"},
        # A schema cannot say "a readable chest X-ray" or "the right password": generated uploads and
        # credentials are valid by the schema and rightly refused with a 400, which the schema documents.
        excluded_checks=[schemathesis.checks.positive_data_acceptance],
    )
