"""Every answer under /api/ is JSON: unknown paths for every method, refused requests, server errors."""

import pytest
from django.test import Client
from django.urls import path

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("address", ["/api/v1/nowhere/", "/api/v2/scans/", "/api/"])
def test_an_unknown_api_address_answers_json_404_for_every_method(method, address):
    response = Client(enforce_csrf_checks=True).generic(method, address)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "No such endpoint."}


def broken(request):
    raise RuntimeError("a bug")


# The portal's own handler, as portal.urls configures it, in front of two views that fail.
from portal.urls import handler500  # noqa: E402, F401

urlpatterns = [path("api/v1/broken/", broken), path("broken/", broken)]


@pytest.mark.urls(__name__)
def test_a_server_error_under_the_api_answers_json_and_elsewhere_the_error_page():
    client = Client(raise_request_exception=False)
    api = client.get("/api/v1/broken/")
    assert (api.status_code, api["Content-Type"]) == (500, "application/json")
    assert "logged" in api.json()["detail"]
    page = client.get("/broken/")
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_a_csrf_refusal_under_the_api_answers_json(rf):
    from portal.errors import csrf_failure

    response = csrf_failure(rf.post("/api/v1/scans/"), reason="CSRF cookie not set.")
    assert (response.status_code, response["Content-Type"]) == (403, "application/json")
    assert csrf_failure(rf.post("/scans/upload/"))["Content-Type"].startswith("text/html")


def test_an_unknown_query_parameter_is_refused_not_ignored(db):
    from tests.api_helpers import token_client
    from tests.factories import UserFactory

    response = token_client(UserFactory()).get("/api/v1/scans/?staus=done")
    assert response.status_code == 400
    assert "Unknown query parameter(s): staus" in response.json()["detail"]


@pytest.mark.parametrize("page", ["", "two", "-1"])
def test_a_page_that_is_not_a_number_is_refused_not_read_as_the_first(db, page):
    from tests.api_helpers import token_client
    from tests.factories import UserFactory

    response = token_client(UserFactory()).get(f"/api/v1/scans/?page={page}")

    assert response.status_code == 400
    assert "page number" in response.json()["detail"]


def test_an_undeclared_method_is_405_even_where_a_permission_would_answer_404(db):
    from tests.api_helpers import token_client
    from tests.factories import UserFactory

    response = token_client(UserFactory()).generic("TRACE", "/api/v1/worklist/")
    assert response.status_code == 405 and response["Content-Type"] == "application/json"
