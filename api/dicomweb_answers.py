"""What both DICOMweb views (STOW-RS in api.dicomweb, QIDO-RS and WADO-RS in api.dicomweb_read) answer in:
DICOM JSON for what they found or stored, and an RFC 9457 problem for a request they refuse."""

from __future__ import annotations

from http import HTTPStatus

from rest_framework.renderers import JSONRenderer

DICOM_JSON = "application/dicom+json"
PROBLEM_JSON = "application/problem+json"  # RFC 9457: what a refused request is answered with


class DicomJSONRenderer(JSONRenderer):
    media_type = DICOM_JSON


class ProblemAnswers:
    """A DRF view mixin: a refused request is answered as a problem, not as DICOM JSON, with DRF's reason."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {
            "type": "about:blank",
            "title": HTTPStatus(response.status_code).phrase,
            "status": response.status_code,
            "detail": str(detail),
        }
        response.content_type = PROBLEM_JSON
        return response
