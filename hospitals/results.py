"""The DICOM results the portal sends back to a hospital: a Structured Report of the AI reading (and of the
radiologist's review once signed) and the heatmap as a Secondary Capture, both filed in the original study.

Pure builders: values in, pydicom datasets out, no database. The SR follows TID 1500 (Measurement Report)
with one whole-image measurement group (TID 1501) for the AI reading; the radiologist's finding and note are
the report's own qualitative evaluations (TID 1500 rows 12-14).
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass

import highdicom as hd
import numpy as np
from PIL import Image
from pydicom import Dataset, dcmwrite
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian
from pydicom.valuerep import DT

from ml.preprocessing import decode
from scans.clinical import percent_words
from scans.uids import portal_uid, result_uid

MANUFACTURER = "Pneumonia screening portal"
ALGORITHM_NAME = "Paediatric chest X-ray pneumonia model"
REPORT_SERIES_DESCRIPTION = "AI chest X-ray reading (not a diagnosis)"
HEATMAP_SERIES_DESCRIPTION = "AI heatmap (not a diagnosis)"
HEATMAP_NOTE = "AI heatmap: where the model looked; not a diagnosis"
# High series numbers, so the results sort after the hospital's own series and do not take their numbers.
REPORT_SERIES_NUMBER = 9001
HEATMAP_SERIES_NUMBER = 9002
# UTF-8: names from any hospital and the radiologist's wording ("Inconclusive — ...") survive unchanged.
CHARACTER_SET = "ISO_IR 192"

PNEUMONIA = hd.sr.CodedConcept("233604007", "SCT", "Pneumonia")
PLAIN_CHEST_XRAY = hd.sr.CodedConcept("399208008", "SCT", "Plain chest X-ray")
RADIOLOGIST = hd.sr.CodedConcept("66862007", "SCT", "Radiologist")
QUALITATIVE_EVALUATIONS = hd.sr.CodedConcept("C0034375", "UMLS", "Qualitative Evaluations")
# No standard concept names the portal's review band, so it has a code of our own, declared in the SR.
PORTAL_CODING_SCHEME = "99PNEUMOSCREEN"
REVIEW_BAND = hd.sr.CodedConcept("REVIEW-BAND", PORTAL_CODING_SCHEME, "AI review band")

AI_FINDINGS = {"pneumonia": codes.SCT.Present, "normal": codes.SCT.Absent}
REVIEW_BANDS = {
    "pneumonia": codes.SCT.Positive,
    "normal": codes.SCT.Negative,
    "indeterminate": codes.SCT.Indeterminate,
}
REVIEW_FINDINGS = {
    "pneumonia": codes.SCT.Present,
    "no_pneumonia": codes.SCT.Absent,
    "inconclusive": codes.SCT.Indeterminate,
}


@dataclass(frozen=True)
class StudyReference:
    """The study a result belongs to: the site's original UIDs, or for a web upload the de-identified
    copy's or generated ones."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str  # of the referenced X-ray image, e.g. CR 1.2.840.10008.5.1.4.1.1.1
    accession_number: str = ""
    patient_id: str = ""
    patient_name: str = ""
    patient_birth_date: datetime.date | None = None
    patient_sex: str = ""  # "M", "F", "O" or ""
    study_date: datetime.date | None = None
    study_time: datetime.time | None = None
    study_id: str = ""
    referring_physician_name: str = ""


@dataclass(frozen=True)
class RadiologistReview:
    finding: str  # "pneumonia" | "no_pneumonia" | "inconclusive"
    finding_label: str  # e.g. "Inconclusive — repeat imaging advised"
    radiologist_name: str
    signed_at: datetime.datetime  # aware
    note: str = ""


@dataclass(frozen=True)
class AIResult:
    scan_id: int
    probability: float  # calibrated probability of pneumonia, 0..1
    label: str  # "pneumonia" | "normal"
    band: str  # "pneumonia" | "normal" | "indeterminate"
    model_version: str
    read_at: datetime.datetime  # aware
    image_png: bytes  # the X-ray as the model read it
    heatmap_png: bytes | None  # transparent overlay, possibly smaller than the image: stretched over it
    review: RadiologistReview | None = None
    # Which portal made it (scans.uids.installation): two portals sending the same scan id to
    # one PACS must not make the same UIDs.
    installation: str = ""

    @property
    def probability_percent(self) -> float:
        # Three decimals: 99.998 % must not be written as a certain 100.0 (nor 0.002 % as 0.0).
        return round(self.probability * 100, 3)

    @property
    def percent_in_words(self) -> str:
        return percent_words(self.probability)  # as the portal's pages say it

    @property
    def made_at(self) -> datetime.datetime:
        """When the result took its present form: the signature if reviewed, else the reading."""
        return self.review.signed_at if self.review else self.read_at


def structured_report(study: StudyReference, result: AIResult, *, revision: int) -> hd.sr.ComprehensiveSR:
    """A Comprehensive SR (TID 1500) of the reading, in the X-ray's study; signed-off once reviewed.

    Revisions share one series (one "AI reading" series in the PACS) and number its instances.
    Dates and times are written in the time zone of the datetimes given.
    """
    review = result.review
    report = hd.sr.ComprehensiveSR(
        evidence=[_source_image(study)],
        content=_measurement_report(study, result),
        series_instance_uid=result_uid(result.scan_id, "sr-series", 0, result.installation),
        series_number=REPORT_SERIES_NUMBER,
        series_description=REPORT_SERIES_DESCRIPTION,
        sop_instance_uid=result_uid(result.scan_id, "sr", revision, result.installation),
        instance_number=revision,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=ALGORITHM_NAME,
        software_versions=result.model_version,
        is_complete=review is not None,
        is_final=review is not None,
        is_verified=review is not None,
        verifying_observer_name=_person_name(review.radiologist_name) if review else None,
        verifying_organization=MANUFACTURER if review else None,
        coding_schemes=[_portal_coding_scheme()],
        specific_character_set=CHARACTER_SET,
        content_date=result.made_at.date(),
        content_time=result.made_at.time(),
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    _stamp_creation(report, result.made_at)
    if review is not None:
        report.VerifyingObserverSequence[0].VerificationDateTime = DT(review.signed_at)
    return report


def heatmap_capture(study: StudyReference, result: AIResult, *, revision: int) -> hd.sc.SCImage:
    """The X-ray in grey with the heatmap blended over it, as an RGB Secondary Capture in the X-ray's study."""
    if result.heatmap_png is None:
        raise ValueError(f"scan {result.scan_id} has no heatmap to capture")
    capture = hd.sc.SCImage(
        pixel_array=heatmap_over_xray(result.image_png, result.heatmap_png),
        photometric_interpretation=hd.PhotometricInterpretationValues.RGB,
        bits_allocated=8,
        coordinate_system=hd.CoordinateSystemNames.PATIENT,
        # Required by SCImage, then emptied below: the X-ray's own orientation is not known here.
        patient_orientation=("L", "F"),
        study_instance_uid=study.study_instance_uid,
        series_instance_uid=result_uid(result.scan_id, "sc-series", 0, result.installation),
        series_number=HEATMAP_SERIES_NUMBER,
        series_description=HEATMAP_SERIES_DESCRIPTION,
        sop_instance_uid=result_uid(result.scan_id, "sc", revision, result.installation),
        instance_number=revision,
        manufacturer=MANUFACTURER,
        manufacturer_model_name=ALGORITHM_NAME,
        software_versions=result.model_version,
        specific_character_set=CHARACTER_SET,
        content_date=result.read_at.date(),
        content_time=result.read_at.time(),
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    capture.copy_patient_and_study_information(_source_image(study))
    # A wrong "L\F" could flip left and right for a reader; an empty (type 2) value claims nothing.
    capture.PatientOrientation = None
    capture.ConversionType = "WSD"  # made on a workstation from another image, not a digitised film
    capture.BurnedInAnnotation = "NO"
    capture.ImageComments = HEATMAP_NOTE
    capture.DerivationDescription = HEATMAP_NOTE
    capture.SourceImageSequence = [_image_reference(study)]
    capture.DateOfSecondaryCapture = result.read_at.date().strftime("%Y%m%d")
    capture.TimeOfSecondaryCapture = result.read_at.time().strftime("%H%M%S")
    _stamp_creation(capture, result.read_at)
    return capture


def to_bytes(dataset: Dataset) -> bytes:
    """The dataset as a DICOM Part 10 file in explicit VR little endian."""
    if dataset.file_meta.TransferSyntaxUID != ExplicitVRLittleEndian:
        raise ValueError(f"expected explicit VR little endian, got {dataset.file_meta.TransferSyntaxUID}")
    buffer = io.BytesIO()
    dcmwrite(buffer, dataset, enforce_file_format=True)
    return buffer.getvalue()


def heatmap_over_xray(image_png: bytes, heatmap_png: bytes) -> np.ndarray:
    """RGB uint8 pixels: the X-ray in grey (any bit depth, as the model read it) under the stretched overlay."""
    grey = np.rint(decode(image_png).grey * 255).astype(np.uint8)
    xray = Image.fromarray(grey, mode="L").convert("RGBA")
    # Through RGBA, so a palette overlay is stretched with a smooth filter rather than nearest-pixel.
    overlay = Image.open(io.BytesIO(heatmap_png)).convert("RGBA").resize(xray.size, Image.Resampling.BILINEAR)
    return np.asarray(Image.alpha_composite(xray, overlay).convert("RGB"))


def _source_image(study: StudyReference) -> Dataset:
    """The X-ray as highdicom's evidence: the attributes the results copy and reference, no pixels."""
    image = Dataset()
    image.SOPClassUID = study.sop_class_uid
    image.SOPInstanceUID = study.sop_instance_uid
    image.StudyInstanceUID = study.study_instance_uid
    image.SeriesInstanceUID = study.series_instance_uid
    image.AccessionNumber = study.accession_number
    image.PatientID = study.patient_id
    image.PatientName = study.patient_name
    image.PatientBirthDate = _dicom_date(study.patient_birth_date)
    image.PatientSex = study.patient_sex
    image.StudyDate = _dicom_date(study.study_date)
    image.StudyTime = study.study_time.strftime("%H%M%S") if study.study_time else ""
    image.StudyID = study.study_id
    image.ReferringPhysicianName = study.referring_physician_name
    return image


def _image_reference(study: StudyReference) -> Dataset:
    reference = Dataset()
    reference.ReferencedSOPClassUID = study.sop_class_uid
    reference.ReferencedSOPInstanceUID = study.sop_instance_uid
    reference.PurposeOfReferenceCodeSequence = [
        hd.sr.CodedConcept.from_code(codes.DCM.SourceImageForImageProcessingOperation)
    ]
    return reference


def _measurement_report(study: StudyReference, result: AIResult) -> hd.sr.MeasurementReport:
    report = hd.sr.MeasurementReport(
        observation_context=_observation_context(result),
        procedure_reported=PLAIN_CHEST_XRAY,
        imaging_measurements=[_ai_reading(study, result)],
    )
    if result.review is not None:
        report[0].ContentSequence.append(_radiologist_evaluations(result.review))
    return report


def _observation_context(result: AIResult) -> hd.sr.ObservationContext:
    device = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=portal_uid(f"model/{result.model_version}"),
            name=ALGORITHM_NAME,
            manufacturer_name=MANUFACTURER,
            model_name=result.model_version,
        ),
    )
    if result.review is None:
        return hd.sr.ObservationContext(observer_device_context=device)
    person = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
            name=_person_name(result.review.radiologist_name),
            organization_name=MANUFACTURER,
            role_in_organization=RADIOLOGIST,
        ),
    )
    return hd.sr.ObservationContext(observer_person_context=person, observer_device_context=device)


def _ai_reading(study: StudyReference, result: AIResult) -> hd.sr.MeasurementsAndQualitativeEvaluations:
    """TID 1501 over the whole X-ray: the probability, the finding and the review band, with the model."""
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=result_uid(result.scan_id, "sr-tracking", 0, result.installation), identifier="AI reading"
        ),
        finding_type=PNEUMONIA,
        finding_sites=[hd.sr.FindingSite(codes.SCT.Lung)],
        algorithm_id=hd.sr.AlgorithmIdentification(
            name=ALGORITHM_NAME, version=result.model_version, manufacturer=MANUFACTURER
        ),
        source_images=[hd.sr.SourceImageForMeasurementGroup(study.sop_class_uid, study.sop_instance_uid)],
        measurements=[
            hd.sr.Measurement(name=codes.DCM.Probability, value=result.probability_percent, unit=codes.UCUM.Percent)
        ],
        qualitative_evaluations=[
            hd.sr.QualitativeEvaluation(PNEUMONIA, AI_FINDINGS[result.label]),
            hd.sr.QualitativeEvaluation(REVIEW_BAND, REVIEW_BANDS[result.band]),
        ],
    )


def _radiologist_evaluations(review: RadiologistReview) -> hd.sr.ContainerContentItem:
    """The radiologist's finding on the whole study, with its wording and the note (TID 1500 rows 12-14)."""
    contains = hd.sr.RelationshipTypeValues.CONTAINS
    items = [
        hd.sr.CodeContentItem(PNEUMONIA, REVIEW_FINDINGS[review.finding], relationship_type=contains),
        hd.sr.TextContentItem(codes.DCM.Impression, review.finding_label, relationship_type=contains),
    ]
    if review.note:
        items.append(hd.sr.TextContentItem(codes.DCM.Comment, review.note, relationship_type=contains))
    container = hd.sr.ContainerContentItem(QUALITATIVE_EVALUATIONS, relationship_type=contains)
    container.ContentSequence = hd.sr.ContentSequence(items)
    return container


def _portal_coding_scheme() -> hd.coding_schemes.CodingSchemeIdentificationItem:
    return hd.coding_schemes.CodingSchemeIdentificationItem(
        PORTAL_CODING_SCHEME, name="Pneumonia screening portal codes", responsible_organization=MANUFACTURER
    )


def _person_name(display_name: str) -> str:
    """A display name as a DICOM person name: the whole name as the family-name component, since splitting
    a name into family and given parts cannot be done reliably; DICOM's delimiters are taken out."""
    cleaned = " ".join(display_name.translate(str.maketrans("^=\\", "   ")).split())
    return f"{cleaned[:64]}^"


def _dicom_date(value: datetime.date | None) -> str:
    return value.strftime("%Y%m%d") if value else ""


def _stamp_creation(dataset: Dataset, moment: datetime.datetime) -> None:
    """Created when its content was: the same result then gives the same bytes each time it is built."""
    dataset.InstanceCreationDate = moment.date().strftime("%Y%m%d")
    dataset.InstanceCreationTime = moment.time().strftime("%H%M%S")
    for equipment in dataset.get("ContributingEquipmentSequence", []):  # highdicom's own entry says "now"
        equipment.ContributionDateTime = DT(moment)
