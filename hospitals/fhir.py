"""The FHIR R4 result the portal sends back to a hospital: a DiagnosticReport with the AI reading and, once
signed, the radiologist's review as contained Observations, and the model as a contained Device.

The codes are the DICOM SR's (hospitals.results), so both results say the same thing in the same terms.
"""

from __future__ import annotations

from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code

from hospitals.results import (
    AI_FINDINGS,
    ALGORITHM_NAME,
    MANUFACTURER,
    PNEUMONIA,
    REVIEW_FINDINGS,
    AIResult,
    StudyReference,
    result_uid,
)

SYSTEMS = {
    "SCT": "http://snomed.info/sct",
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
    "UCUM": "http://unitsofmeasure.org",
}
LOINC = "http://loinc.org"
V2_IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/v2-0203"
INTERPRETATIONS = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
DICOM_UID = "urn:dicom:uid"
URI = "urn:ietf:rfc:3986"

# "Diagnostic imaging study": the study may hold more views than the one the model read.
REPORT_CODE = {
    "coding": [{"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}],
    "text": "AI chest X-ray reading for pneumonia (screening aid)",
}
RADIOLOGY = {
    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "RAD", "display": "Radiology"}]
}
IMAGING = {
    "coding": [
        {
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "imaging",
            "display": "Imaging",
        }
    ]
}
# The review band as an interpretation of the AI's finding, in the standard positive/negative/indeterminate.
BAND_INTERPRETATIONS = {
    "pneumonia": ("POS", "Positive", "Pneumonia suspected"),
    "normal": ("NEG", "Negative", "No pneumonia suspected"),
    "indeterminate": ("IND", "Indeterminate", "Uncertain reading"),
}
AI_METHOD = {"text": "AI model reading of the chest X-ray: a screening aid, not a diagnosis"}
DISCLAIMER = "The AI reading is a screening aid, not a diagnosis; a clinician makes the diagnosis."
MODEL_DEVICE_ID = "model"


def diagnostic_report(study: StudyReference, result: AIResult, *, scan_url: str) -> dict:
    """The DiagnosticReport as FHIR JSON, checked against the R4B model (whose DiagnosticReport, Observation
    and Device elements used here are those of R4); preliminary until a radiologist signs, then final."""
    status = "final" if result.review else "preliminary"
    observations = _observations(study, result, status)
    report = {
        "resourceType": "DiagnosticReport",
        "contained": [_model_device(result), *observations],
        "identifier": _identifiers(study, result),
        "basedOn": _order(study),
        "status": status,
        "category": [RADIOLOGY],
        "code": REPORT_CODE,
        "subject": _patient(study),
        "effectiveDateTime": study.study_date.isoformat() if study.study_date else None,
        "issued": result.made_at.isoformat(),
        "resultsInterpreter": [{"display": result.review.radiologist_name}] if result.review else None,
        "result": [{"reference": f"#{observation['id']}"} for observation in observations],
        "imagingStudy": [_imaging_study(study)],
        "conclusion": conclusion(result),
        "presentedForm": [{"contentType": "text/html", "url": scan_url, "title": "The reading in the portal"}],
    }
    report = _without_empty(report)
    DiagnosticReport.model_validate(report)
    return report


def conclusion(result: AIResult) -> str:
    words = BAND_INTERPRETATIONS[result.band][2]
    reading = f"AI reading: {words}, {result.percent_in_words} estimated chance of pneumonia."
    if result.review is None:
        return f"{reading} Not yet reviewed by a radiologist. {DISCLAIMER}"
    return f"Radiologist's finding: {result.review.finding_label}. {reading} {DISCLAIMER}"


def _observations(study: StudyReference, result: AIResult, status: str) -> list[dict]:
    observations = [_probability(study, result, status), _ai_finding(study, result, status)]
    if result.review is not None:
        observations.append(_review(study, result))
    return observations


def _probability(study: StudyReference, result: AIResult, status: str) -> dict:
    return _observation(
        study,
        "probability",
        status,
        code={"coding": [_coding(codes.DCM.Probability)], "text": "AI probability of pneumonia"},
        valueQuantity={"value": result.probability_percent, "unit": "%", "system": SYSTEMS["UCUM"], "code": "%"},
        issued=result.read_at.isoformat(),
        device={"reference": f"#{MODEL_DEVICE_ID}"},
        method=AI_METHOD,
    )


def _ai_finding(study: StudyReference, result: AIResult, status: str) -> dict:
    code, display, words = BAND_INTERPRETATIONS[result.band]
    return _observation(
        study,
        "ai-finding",
        status,
        code={"coding": [_coding(PNEUMONIA)], "text": "Pneumonia, AI reading"},
        valueCodeableConcept={"coding": [_coding(AI_FINDINGS[result.label])]},
        interpretation=[{"coding": [{"system": INTERPRETATIONS, "code": code, "display": display}], "text": words}],
        issued=result.read_at.isoformat(),
        device={"reference": f"#{MODEL_DEVICE_ID}"},
        method=AI_METHOD,
        derivedFrom=[{"reference": "#probability"}],
    )


def _review(study: StudyReference, result: AIResult) -> dict:
    review = result.review
    return _observation(
        study,
        "review",
        "final",
        code={"coding": [_coding(PNEUMONIA)], "text": "Pneumonia, radiologist's review"},
        valueCodeableConcept={"coding": [_coding(REVIEW_FINDINGS[review.finding])], "text": review.finding_label},
        issued=review.signed_at.isoformat(),
        performer=[{"display": review.radiologist_name}],
        note=[{"text": review.note}] if review.note else None,
    )


def _observation(study: StudyReference, observation_id: str, status: str, **elements) -> dict:
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "status": status,
        "category": [IMAGING],
        "subject": _patient(study),
        "bodySite": {"coding": [_coding(codes.SCT.Lung)]},
        **elements,
    }


def _model_device(result: AIResult) -> dict:
    return {
        "resourceType": "Device",
        "id": MODEL_DEVICE_ID,
        "manufacturer": MANUFACTURER,
        "deviceName": [{"name": ALGORITHM_NAME, "type": "model-name"}],
        "type": {"text": "AI software: pneumonia screening model for children's chest X-rays"},
        "version": [{"value": result.model_version}],
    }


def _identifiers(study: StudyReference, result: AIResult) -> list[dict]:
    # One identifier for every revision: a server updates the same report when the review arrives.
    identifiers = [
        {"system": URI, "value": f"urn:oid:{result_uid(result.scan_id, 'fhir-report', 0, result.installation)}"}
    ]
    if study.accession_number:
        identifiers.append(_accession(study))
    return identifiers


def _order(study: StudyReference) -> list[dict] | None:
    """The imaging order the hospital filed the study under, known by its accession number."""
    if not study.accession_number:
        return None
    return [{"type": "ServiceRequest", "identifier": _accession(study)}]


def _accession(study: StudyReference) -> dict:
    accession_type = {"system": V2_IDENTIFIER_TYPES, "code": "ACSN", "display": "Accession ID"}
    return {"type": {"coding": [accession_type]}, "value": study.accession_number}


def _patient(study: StudyReference) -> dict | None:
    if not study.patient_id:
        return None
    record_number = {"system": V2_IDENTIFIER_TYPES, "code": "MR", "display": "Medical record number"}
    return {"type": "Patient", "identifier": {"type": {"coding": [record_number]}, "value": study.patient_id}}


def _imaging_study(study: StudyReference) -> dict:
    return {
        "type": "ImagingStudy",
        "identifier": {"system": DICOM_UID, "value": f"urn:oid:{study.study_instance_uid}"},
    }


def _coding(code: Code) -> dict:
    return {"system": SYSTEMS[code.scheme_designator], "code": code.value, "display": code.meaning}


def _without_empty(element):
    """JSON without the elements that have no value: FHIR forbids empty ones."""
    if isinstance(element, dict):
        kept = {key: _without_empty(value) for key, value in element.items()}
        return {key: value for key, value in kept.items() if value not in (None, [], {}, "")}
    if isinstance(element, list):
        return [_without_empty(item) for item in element]
    return element
