"""The DICOM results a hospital's PACS receives: the SR of the reading (and of the review once signed) and
the heatmap capture, both filed in the X-ray's own study."""

import dataclasses
import datetime
import io
import re
import shutil
import subprocess

import highdicom as hd
import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.sr.codedict import codes

from hospitals.results import (
    PNEUMONIA,
    QUALITATIVE_EVALUATIONS,
    REVIEW_BAND,
    AIResult,
    RadiologistReview,
    StudyReference,
    heatmap_capture,
    result_uid,
    structured_report,
    to_bytes,
)
from tests import tiers

CR_IMAGE = "1.2.840.10008.5.1.4.1.1.1"
SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"
CET = datetime.timezone(datetime.timedelta(hours=1))
XRAY_WIDTH, XRAY_HEIGHT = 64, 48
STUDY = StudyReference(
    study_instance_uid="1.2.826.0.1.3680043.8.498.1",
    series_instance_uid="1.2.826.0.1.3680043.8.498.1.2",
    sop_instance_uid="1.2.826.0.1.3680043.8.498.1.2.3",
    sop_class_uid=CR_IMAGE,
    accession_number="ACC-2024-0042",
    patient_id="MRN-77",
    patient_name="Müller^Jörg",
    patient_birth_date=datetime.date(2021, 3, 4),
    patient_sex="M",
    study_date=datetime.date(2024, 5, 6),
    study_time=datetime.time(9, 30, 15),
    study_id="S42",
    referring_physician_name="Okafor^Ngozi",
)
REVIEW = RadiologistReview(
    finding="no_pneumonia",
    finding_label="No pneumonia",
    radiologist_name="Dr Ana Lima",
    signed_at=datetime.datetime(2024, 5, 6, 14, 5, tzinfo=CET),
    note="Clear lungs; viral picture.",
)


def png(pixels: np.ndarray) -> bytes:
    """uint8 H x W is 8-bit grey, uint16 16-bit grey, uint8 H x W x 4 RGBA."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    return buffer.getvalue()


def xray_pixels() -> np.ndarray:
    """A left-to-right grey ramp, so every column has its own known value."""
    return np.tile(np.linspace(10, 250, XRAY_WIDTH).astype(np.uint8), (XRAY_HEIGHT, 1))


def half_red_overlay() -> bytes:
    """Half the X-ray's size: mostly opaque red over the X-ray's left half, transparent over its right."""
    overlay = np.zeros((XRAY_HEIGHT // 2, XRAY_WIDTH // 2, 4), dtype=np.uint8)
    overlay[:, : XRAY_WIDTH // 4] = (255, 0, 0, 200)
    return png(overlay)


def ai_result(**changes) -> AIResult:
    result = AIResult(
        scan_id=42,
        probability=0.8312,
        label="pneumonia",
        band="indeterminate",
        model_version="pneumonia-cnn 2024.05.1",
        read_at=datetime.datetime(2024, 5, 6, 10, 0, tzinfo=CET),
        image_png=png(xray_pixels()),
        heatmap_png=half_red_overlay(),
    )
    return dataclasses.replace(result, **changes)


def reread_report(result: AIResult, revision: int = 1) -> hd.sr.ComprehensiveSR:
    return hd.sr.srread(io.BytesIO(to_bytes(structured_report(STUDY, result, revision=revision))))


def reread_capture(result: AIResult, revision: int = 1):
    return dcmread(io.BytesIO(to_bytes(heatmap_capture(STUDY, result, revision=revision))))


def ai_group(report: hd.sr.ComprehensiveSR) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    (group,) = report.content.get_image_measurement_groups()
    return group


def evaluation(group, name) -> hd.sr.CodedConcept:
    (found,) = group.get_qualitative_evaluations(name=name)
    return found.value


def radiologist_items(report) -> dict[str, object]:
    """The report's own qualitative evaluations (the review), by concept meaning."""
    containers = hd.sr.utils.find_content_items(report, name=QUALITATIVE_EVALUATIONS, recursive=True)
    if not containers:
        return {}
    (container,) = containers
    return {item.ConceptNameCodeSequence[0].CodeMeaning: _item_value(item) for item in container.ContentSequence}


def _item_value(item):
    if item.ValueType == "CODE":
        return item.ConceptCodeSequence[0].CodeValue
    return item.TextValue


def test_report_survives_part10_bytes_and_reads_back_as_a_tid1500_measurement_report():
    report = reread_report(ai_result())

    assert report.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    assert report.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"  # explicit VR little endian
    assert isinstance(report.content, hd.sr.MeasurementReport)
    assert report.ContentTemplateSequence[0].TemplateIdentifier == "1500"


def test_report_is_filed_in_the_xrays_study_with_its_patient_and_accession_but_its_own_series():
    report = reread_report(ai_result())

    assert report.StudyInstanceUID == STUDY.study_instance_uid
    assert report.AccessionNumber == "ACC-2024-0042"
    assert report.PatientID == "MRN-77"
    assert str(report.PatientName) == "Müller^Jörg"
    assert report.PatientBirthDate == "20210304"
    assert report.PatientSex == "M"
    assert (report.StudyDate, report.StudyTime, report.StudyID) == ("20240506", "093015", "S42")
    assert str(report.ReferringPhysicianName) == "Okafor^Ngozi"
    assert report.SeriesInstanceUID != STUDY.series_instance_uid
    assert report.Modality == "SR"
    assert report.Manufacturer == "Pneumonia screening portal"
    assert "not a diagnosis" in report.SeriesDescription


def test_report_references_the_xray_instance_the_model_read():
    report = reread_report(ai_result())

    (source,) = ai_group(report).source_images
    assert source.referenced_sop_instance_uid == STUDY.sop_instance_uid
    assert source.referenced_sop_class_uid == CR_IMAGE
    (evidence,) = report.CurrentRequestedProcedureEvidenceSequence
    assert evidence.StudyInstanceUID == STUDY.study_instance_uid
    (series,) = evidence.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == STUDY.series_instance_uid
    assert series.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == STUDY.sop_instance_uid


def test_report_carries_probability_finding_band_and_model_version():
    report = reread_report(ai_result())
    group = ai_group(report)

    (probability,) = group.get_measurements(name=codes.DCM.Probability)
    assert probability.value == pytest.approx(83.12)
    assert probability.unit.value == "%"
    assert group.finding_type.value == PNEUMONIA.value
    assert evaluation(group, PNEUMONIA).value == codes.SCT.Present.value
    assert evaluation(group, REVIEW_BAND).value == codes.SCT.Indeterminate.value
    (version,) = hd.sr.utils.find_content_items(group[0], name=codes.DCM.AlgorithmVersion)
    assert version.TextValue == "pneumonia-cnn 2024.05.1"
    assert report.SoftwareVersions == "pneumonia-cnn 2024.05.1"


def test_a_normal_reading_reports_pneumonia_absent():
    group = ai_group(reread_report(ai_result(label="normal", band="normal", probability=0.04)))

    assert evaluation(group, PNEUMONIA).value == codes.SCT.Absent.value
    assert evaluation(group, REVIEW_BAND).value == codes.SCT.Negative.value


def test_unreviewed_report_is_partial_unverified_and_preliminary_without_a_radiologist():
    report = reread_report(ai_result())

    assert (report.CompletionFlag, report.VerificationFlag, report.PreliminaryFlag) == (
        "PARTIAL",
        "UNVERIFIED",
        "PRELIMINARY",
    )
    assert "VerifyingObserverSequence" not in report
    assert radiologist_items(report) == {}
    assert [context.observer_type for context in report.content.get_observer_contexts()] == [codes.DCM.Device]


def test_signed_review_adds_the_radiologists_finding_and_verifies_the_report():
    report = reread_report(ai_result(review=REVIEW), revision=2)

    assert (report.CompletionFlag, report.VerificationFlag, report.PreliminaryFlag) == ("COMPLETE", "VERIFIED", "FINAL")
    (verifier,) = report.VerifyingObserverSequence
    assert str(verifier.VerifyingObserverName) == "Dr Ana Lima^"
    assert verifier.VerificationDateTime == "20240506140500+0100"
    assert radiologist_items(report) == {
        "Pneumonia": codes.SCT.Absent.value,
        "Impression": "No pneumonia",
        "Comment": "Clear lungs; viral picture.",
    }
    observers = {context.observer_type.meaning for context in report.content.get_observer_contexts()}
    assert observers == {"Person", "Device"}


def test_an_inconclusive_review_keeps_its_wording_and_codes_indeterminate():
    review = dataclasses.replace(
        REVIEW, finding="inconclusive", finding_label="Inconclusive — repeat imaging advised", note=""
    )

    items = radiologist_items(reread_report(ai_result(review=review), revision=2))

    assert items == {"Pneumonia": codes.SCT.Indeterminate.value, "Impression": "Inconclusive — repeat imaging advised"}


def test_the_same_result_and_revision_builds_the_same_instance_byte_for_byte():
    first = to_bytes(structured_report(STUDY, ai_result(review=REVIEW), revision=2))
    again = to_bytes(structured_report(STUDY, ai_result(review=REVIEW), revision=2))

    assert first == again


def test_a_new_revision_is_a_new_instance_in_the_same_results_series():
    before = structured_report(STUDY, ai_result(), revision=1)
    after = structured_report(STUDY, ai_result(review=REVIEW), revision=2)

    assert after.SOPInstanceUID != before.SOPInstanceUID
    assert after.SeriesInstanceUID == before.SeriesInstanceUID
    assert (before.InstanceNumber, after.InstanceNumber) == (1, 2)


def test_result_uids_are_valid_dicom_uids_that_depend_on_scan_kind_and_revision():
    uid = result_uid(42, "sr", 1)

    assert re.fullmatch(r"2\.25\.(0|[1-9][0-9]*)", uid) and len(uid) <= 64
    assert result_uid(42, "sr", 1) == uid
    assert len({uid, result_uid(43, "sr", 1), result_uid(42, "sc", 1), result_uid(42, "sr", 2)}) == 4


@pytest.mark.pacs
def test_dcmtk_reads_both_reports_without_errors(tmp_path):
    # dcmtk's dsrdump checks the SR encoding and content tree independently of pydicom and highdicom.
    # Without it this skips, and the suite's CI rule (tests/conftest.py) turns a skip into a failure.
    tiers.requires("pacs", "dcmtk's dsrdump")
    dsrdump = shutil.which("dsrdump")
    if dsrdump is None:
        pytest.skip("dcmtk's dsrdump is not installed")
    for name, result, revision in (("ai.dcm", ai_result(), 1), ("reviewed.dcm", ai_result(review=REVIEW), 2)):
        path = tmp_path / name
        path.write_bytes(to_bytes(structured_report(STUDY, result, revision=revision)))
        run = subprocess.run([dsrdump, "+U8", "+Pc", str(path)], capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr
        assert not [line for line in run.stderr.splitlines() if line.startswith(("E:", "F:"))], run.stderr
        assert '(122157,DCM,"Probability")="83.12" (%,UCUM,"Percent")' in run.stdout
    assert "Verification Flag   : VERIFIED" in run.stdout
    assert '(121106,DCM,"Comment")="Clear lungs; viral picture."' in run.stdout


def test_heatmap_capture_is_an_rgb_secondary_capture_at_the_xrays_size_in_its_study():
    capture = reread_capture(ai_result())

    assert capture.SOPClassUID == SECONDARY_CAPTURE
    assert (capture.PhotometricInterpretation, capture.SamplesPerPixel) == ("RGB", 3)
    assert (capture.Columns, capture.Rows) == (XRAY_WIDTH, XRAY_HEIGHT)
    assert capture.StudyInstanceUID == STUDY.study_instance_uid
    assert (capture.AccessionNumber, capture.PatientID, str(capture.PatientName)) == (
        "ACC-2024-0042",
        "MRN-77",
        "Müller^Jörg",
    )
    assert capture.SeriesInstanceUID not in (STUDY.series_instance_uid, reread_report(ai_result()).SeriesInstanceUID)
    assert capture.SourceImageSequence[0].ReferencedSOPInstanceUID == STUDY.sop_instance_uid


def test_heatmap_capture_says_it_is_not_a_diagnosis_and_has_no_burned_in_text():
    capture = reread_capture(ai_result())

    assert capture.ImageComments == "AI heatmap: where the model looked; not a diagnosis"
    assert capture.DerivationDescription == capture.ImageComments
    assert capture.BurnedInAnnotation == "NO"
    assert "not a diagnosis" in capture.SeriesDescription


def test_heatmap_is_stretched_over_the_grey_xray():
    pixels = reread_capture(ai_result()).pixel_array.astype(int)
    red, green, blue = pixels[..., 0], pixels[..., 1], pixels[..., 2]

    # The overlay's edge lands mid-X-ray (column 32), softened by a few pixels of smooth stretching:
    # left of it red shows through, right of it is the X-ray's own grey, untouched.
    assert (red[:, :28] > green[:, :28] + 100).all()
    assert (red[:, 36:] == xray_pixels()[:, 36:]).all()
    assert (red[:, 36:] == green[:, 36:]).all() and (green[:, 36:] == blue[:, 36:]).all()


def test_a_16_bit_xray_is_captured_over_its_full_range():
    ramp = np.tile(np.linspace(0, 65535, XRAY_WIDTH).astype(np.uint16), (XRAY_HEIGHT, 1))

    pixels = reread_capture(ai_result(image_png=png(ramp))).pixel_array

    # Scaled from 16 bits to 8 (seen right of the overlay), not clipped at 255, which would turn it all white.
    expected = np.linspace(0, 255, XRAY_WIDTH)[36:]
    assert np.abs(pixels[0, 36:, 1].astype(float) - expected).max() <= 1


def test_heatmap_capture_of_the_same_result_is_the_same_instance_and_a_new_revision_a_new_one():
    first, again, revised = (heatmap_capture(STUDY, ai_result(), revision=revision) for revision in (1, 1, 2))

    assert to_bytes(first) == to_bytes(again)
    assert revised.SOPInstanceUID != first.SOPInstanceUID
    assert revised.SeriesInstanceUID == first.SeriesInstanceUID


def test_a_result_without_a_heatmap_has_no_capture():
    with pytest.raises(ValueError, match="no heatmap"):
        heatmap_capture(STUDY, ai_result(heatmap_png=None), revision=1)


def test_a_web_upload_with_no_patient_details_still_gives_both_results():
    upload = StudyReference(
        study_instance_uid=result_uid(7, "upload-study", 0),
        series_instance_uid=result_uid(7, "upload-series", 0),
        sop_instance_uid=result_uid(7, "upload-image", 0),
        sop_class_uid=SECONDARY_CAPTURE,
        patient_sex="F",
        study_date=datetime.date(2024, 5, 6),
    )

    report = dcmread(io.BytesIO(to_bytes(structured_report(upload, ai_result(), revision=1))))
    capture = dcmread(io.BytesIO(to_bytes(heatmap_capture(upload, ai_result(), revision=1))))

    for dataset in (report, capture):
        assert dataset.StudyInstanceUID == upload.study_instance_uid
        assert (dataset.PatientID, dataset.AccessionNumber, dataset.PatientSex) == ("", "", "F")
