"""The FHIR DiagnosticReport a hospital's system receives: valid R4 (checked with fhir.resources' R4B
models, whose elements used here are R4's), preliminary until a radiologist signs, then final."""

import dataclasses
import datetime

from fhir.resources.R4B.device import Device
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation

from hospitals.fhir import diagnostic_report
from hospitals.results import AIResult, RadiologistReview, StudyReference, result_uid

SNOMED = "http://snomed.info/sct"
CET = datetime.timezone(datetime.timedelta(hours=1))
SCAN_URL = "https://portal.example.org/scans/42/"
STUDY = StudyReference(
    study_instance_uid="1.2.826.0.1.3680043.8.498.1",
    series_instance_uid="1.2.826.0.1.3680043.8.498.1.2",
    sop_instance_uid="1.2.826.0.1.3680043.8.498.1.2.3",
    sop_class_uid="1.2.840.10008.5.1.4.1.1.1",
    accession_number="ACC-2024-0042",
    patient_id="MRN-77",
    patient_name="Müller^Jörg",
    study_date=datetime.date(2024, 5, 6),
    study_time=datetime.time(9, 30, 15),
)
REVIEW = RadiologistReview(
    finding="pneumonia",
    finding_label="Pneumonia",
    radiologist_name="Dr Ana Lima",
    signed_at=datetime.datetime(2024, 5, 6, 14, 5, tzinfo=CET),
    note="Right lower lobe consolidation.",
)
AI_READING = AIResult(
    scan_id=42,
    probability=0.8312,
    label="pneumonia",
    band="pneumonia",
    model_version="pneumonia-cnn 2024.05.1",
    read_at=datetime.datetime(2024, 5, 6, 10, 0, tzinfo=CET),
    image_png=b"",  # the FHIR report carries no pixels
    heatmap_png=None,
)


def report_for(study: StudyReference = STUDY, **changes) -> dict:
    return diagnostic_report(study, dataclasses.replace(AI_READING, **changes), scan_url=SCAN_URL)


def contained(report: dict) -> dict[str, dict]:
    return {resource["id"]: resource for resource in report["contained"]}


def snomed_codes(concept: dict) -> list[str]:
    return [coding["code"] for coding in concept["coding"] if coding["system"] == SNOMED]


def test_unreviewed_and_reviewed_reports_validate_with_their_contained_resources():
    for report in (report_for(), report_for(review=REVIEW)):
        DiagnosticReport.model_validate(report)
        for resource in report["contained"]:
            model = {"Observation": Observation, "Device": Device}[resource["resourceType"]]
            model.model_validate(resource)


def test_unreviewed_report_is_preliminary_with_the_ai_probability_and_finding():
    report = report_for()
    resources = contained(report)

    assert report["status"] == "preliminary"
    assert [result["reference"] for result in report["result"]] == ["#probability", "#ai-finding"]
    probability = resources["probability"]
    assert probability["valueQuantity"] == {
        "value": 83.12,
        "unit": "%",
        "system": "http://unitsofmeasure.org",
        "code": "%",
    }
    finding = resources["ai-finding"]
    assert snomed_codes(finding["code"]) == ["233604007"]  # pneumonia
    assert snomed_codes(finding["valueCodeableConcept"]) == ["52101004"]  # present
    assert finding["interpretation"][0]["coding"][0]["code"] == "POS"  # the review band
    assert {probability["status"], finding["status"]} == {"preliminary"}
    assert "resultsInterpreter" not in report


def test_every_ai_observation_names_the_model_version_through_the_contained_device():
    resources = contained(report_for())

    device = resources["model"]
    assert device["version"] == [{"value": "pneumonia-cnn 2024.05.1"}]
    for observation_id in ("probability", "ai-finding"):
        assert resources[observation_id]["device"] == {"reference": "#model"}


def test_an_uncertain_reading_is_interpreted_as_indeterminate():
    finding = contained(report_for(band="indeterminate"))["ai-finding"]

    assert finding["interpretation"][0]["coding"][0]["code"] == "IND"


def test_signed_review_makes_the_report_final_with_the_radiologists_observation():
    report = report_for(review=REVIEW)
    review = contained(report)["review"]

    assert report["status"] == "final"
    assert report["result"][-1] == {"reference": "#review"}
    assert review["status"] == "final"
    assert review["performer"] == [{"display": "Dr Ana Lima"}]
    assert snomed_codes(review["valueCodeableConcept"]) == ["52101004"]
    assert review["valueCodeableConcept"]["text"] == "Pneumonia"
    assert review["note"] == [{"text": "Right lower lobe consolidation."}]
    assert review["issued"] == "2024-05-06T14:05:00+01:00"
    assert report["resultsInterpreter"] == [{"display": "Dr Ana Lima"}]
    assert report["issued"] == "2024-05-06T14:05:00+01:00"


def test_a_review_of_no_pneumonia_codes_pneumonia_absent():
    no_pneumonia = dataclasses.replace(REVIEW, finding="no_pneumonia", finding_label="No pneumonia", note="")

    review = contained(report_for(review=no_pneumonia))["review"]

    assert snomed_codes(review["valueCodeableConcept"]) == ["272519000"]  # absent
    assert "note" not in review


def test_report_is_identified_by_accession_number_and_points_at_the_dicom_study():
    report = report_for()
    acsn = {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "ACSN", "display": "Accession ID"}
    accession = {"type": {"coding": [acsn]}, "value": "ACC-2024-0042"}

    assert accession in report["identifier"]
    assert report["basedOn"] == [{"type": "ServiceRequest", "identifier": accession}]
    assert report["imagingStudy"] == [
        {
            "type": "ImagingStudy",
            "identifier": {"system": "urn:dicom:uid", "value": "urn:oid:1.2.826.0.1.3680043.8.498.1"},
        }
    ]
    assert report["subject"]["identifier"]["value"] == "MRN-77"
    assert report["effectiveDateTime"] == "2024-05-06"


def test_the_report_keeps_one_identifier_from_the_ai_reading_to_the_signed_review():
    own_identifier = {"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{result_uid(42, 'fhir-report', 0)}"}

    assert own_identifier in report_for()["identifier"]
    assert own_identifier in report_for(review=REVIEW)["identifier"]


def test_conclusion_says_the_ai_reading_is_not_a_diagnosis():
    for report in (report_for(), report_for(review=REVIEW)):
        assert "not a diagnosis" in report["conclusion"]
        assert "a clinician makes the diagnosis" in report["conclusion"]
    assert report_for(review=REVIEW)["conclusion"].startswith("Radiologist's finding: Pneumonia.")


def test_report_links_to_the_reading_in_the_portal():
    (form,) = report_for()["presentedForm"]

    assert (form["url"], form["contentType"]) == (SCAN_URL, "text/html")


def test_a_web_upload_with_no_accession_or_patient_id_still_validates():
    upload = StudyReference(
        study_instance_uid=result_uid(7, "upload-study", 0),
        series_instance_uid=result_uid(7, "upload-series", 0),
        sop_instance_uid=result_uid(7, "upload-image", 0),
        sop_class_uid="1.2.840.10008.5.1.4.1.1.7",
    )

    report = report_for(upload)

    DiagnosticReport.model_validate(report)
    assert "basedOn" not in report and "subject" not in report and "effectiveDateTime" not in report
    assert [identifier["system"] for identifier in report["identifier"]] == ["urn:ietf:rfc:3986"]


def test_a_near_certain_reading_is_never_written_as_certain():
    report = report_for(probability=0.99998)
    probability = next(item for item in report["contained"] if "valueQuantity" in item)["valueQuantity"]
    assert ">99% estimated chance" in report["conclusion"]
    assert probability["value"] == 99.998
