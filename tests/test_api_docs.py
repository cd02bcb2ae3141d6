"""The OpenAPI schema and its browsable documentation: served to anyone, from this site's own files."""

import re

from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse


def test_the_schema_is_openapi_3_and_lists_every_operation(db):
    schema = Client().get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    assert schema["openapi"].startswith("3.")
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {
        "auth_token_create",
        "scans_create",
        "scans_retrieve",
        "scans_report_retrieve",
        "worklist_list",
    } <= operations
    token_auth = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (token_auth["in"], token_auth["name"]) == ("header", "Authorization")


def test_stored_files_document_the_signed_redirect_and_the_generated_report_does_not(db):
    schema = Client().get(reverse("api:schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    answers = {op["operationId"]: set(op["responses"]) for path in schema["paths"].values() for op in path.values()}

    assert all("302" in answers[stored] for stored in ("scans_image_retrieve", "scans_heatmap_retrieve"))
    assert "302" not in answers["scans_report_retrieve"]


def test_the_docs_page_uses_the_sidecar_files_and_no_cdn(db):
    page = Client().get(reverse("api:docs")).content.decode()

    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any("drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in asset for asset in assets)
    assert not [asset for asset in assets if asset.startswith(("http:", "https:", "//"))]
    for asset in assets:
        if "/static/" in asset:
            assert finders.find(asset.split("/static/", 1)[1]), asset


def test_the_docs_page_has_no_inline_code_for_the_csp_to_block(db):
    response = Client().get(reverse("api:docs"))
    page = response.content.decode()

    assert "<style" not in page
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page) == []
    assert "script-src 'self'" in response["Content-Security-Policy"]


def test_the_docs_start_up_script_is_a_separate_file(db):
    response = Client().get(reverse("api:docs"), {"script": ""})

    assert response["Content-Type"].startswith("application/javascript")
    assert reverse("api:schema") in response.content.decode()
