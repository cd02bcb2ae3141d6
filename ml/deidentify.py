"""De-identify a DICOM file by the basic profile of DICOM PS3.15 Annex E, with pydicom alone.

Identifying attributes are removed or emptied, every instance UID is replaced by one derived from it
and a secret (so images of one study still share a study UID, and nobody without the secret can
link the copy back to the hospital's records), private tags go, and the 128-byte preamble, which
may hold anything, is zeroed. The pixel data is kept as it is.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.uid import generate_uid

from ml.dicom_patient import patient_age_months, patient_sex
from ml.dicom_values import full_text, kept_text, value_vr
from ml.errors import UnreadableImage, gettext_noop

# At most 64 characters (VR LO); the code sequence names the profile and its option in full.
METHOD = "PS3.15 Annex E Basic; retain patient chars.; clean study desc."
BASIC_PROFILE_CODE = ("113100", "DCM", "Basic Application Confidentiality Profile")
# The option that keeps age and sex: the model's reading depends on the age (it learned from children
# aged one to five), and a radiologist reads a film differently for a child and for an adult.
RETAIN_CHARACTERISTICS_CODE = ("113108", "DCM", "Retain Patient Characteristics Option")
# UIDs under the DICOM root name standard things (SOP classes, transfer syntaxes), not people.
DICOM_ROOT_UID = "1.2.840.10008."
PREAMBLE = bytes(128)

# What the patient is shown as kept: it says which examination the file holds, and nobody in it.
SHOWN_AS_KEPT = ("Modality", "BodyPartExamined", "ViewPosition", "StudyDescription", "PatientAge", "PatientSex")

# Annex E's "Z": attributes other modules require to be present, so they stay, without a value.
EMPTIED = frozenset(
    """
    AccessionNumber ContentCreatorName ContentDate ContentTime FillerOrderNumberImagingServiceRequest
    PatientBirthDate PatientID PatientName PatientSex PlacerOrderNumberImagingServiceRequest
    ReferringPhysicianName StudyDate StudyID StudyTime VerifyingObserverIdentificationCodeSequence
    VerifyingObserverName
    """.split()
)

# Annex E's "X" (and "D" where no dummy is needed in a stored copy): removed outright.
REMOVED = frozenset(
    """
    AcquisitionComments AcquisitionContextSequence AcquisitionDate AcquisitionDateTime
    AcquisitionDeviceProcessingDescription AcquisitionTime ActualHumanPerformersSequence
    AdditionalPatientHistory AdmissionID AdmittingDate AdmittingDiagnosesCodeSequence
    AdmittingDiagnosesDescription AdmittingTime Allergies Arbitrary AuthorObserverSequence BranchOfService
    CassetteID CommentsOnThePerformedProcedureStep ConfidentialityConstraintOnPatientDataDescription
    ContentCreatorIdentificationCodeSequence ContributionDescription CountryOfResidence
    CurrentPatientLocation CurveDate CurveTime CustodialOrganizationSequence DataSetTrailingPadding
    DerivationDescription DetectorID DeviceSerialNumber DigitalSignaturesSequence
    DischargeDiagnosisDescription DistributionAddress DistributionName EthnicGroup FrameComments GantryID
    GeneratorID GraphicAnnotationSequence HumanPerformerName HumanPerformerOrganization IconImageSequence
    IdentifyingComments ImageComments ImagePresentationComments ImagingServiceRequestComments Impressions
    InstanceCoercionDateTime InstanceCreationDate InstanceCreationTime InstitutionAddress
    InstitutionCodeSequence InstitutionName InstitutionalDepartmentName InsurancePlanIdentification
    IntendedRecipientsOfResultsIdentificationSequence InterpretationApproverSequence InterpretationAuthor
    InterpretationDiagnosisDescription InterpretationIDIssuer InterpretationRecorder InterpretationText
    InterpretationTranscriber IssuerOfAdmissionID IssuerOfPatientID LastMenstrualDate MedicalAlerts
    MedicalRecordLocator MilitaryRank ModifiedAttributesSequence ModifiedImageDescription ModifyingDeviceID
    NameOfPhysiciansReadingStudy NamesOfIntendedRecipientsOfResults Occupation OperatorIdentificationSequence
    OperatorsName OrderCallbackPhoneNumber OrderEnteredBy OrderEntererLocation OriginalAttributesSequence
    OtherPatientIDs OtherPatientIDsSequence OtherPatientNames OverlayDate OverlayTime ParticipantSequence
    PatientAddress PatientAge PatientBirthName PatientBirthTime PatientComments
    PatientInsurancePlanCodeSequence PatientMotherBirthName PatientPrimaryLanguageCodeSequence
    PatientReligiousPreference PatientSexNeutered PatientSize PatientState PatientTelephoneNumbers
    PatientTransportArrangements PatientWeight PerformedLocation PerformedProcedureStepDescription
    PerformedProcedureStepEndDate PerformedProcedureStepEndTime PerformedProcedureStepID
    PerformedProcedureStepStartDate PerformedProcedureStepStartTime PerformedStationAETitle
    PerformedStationGeographicLocationCodeSequence PerformedStationName PerformedStationNameCodeSequence
    PerformingPhysicianIdentificationSequence PerformingPhysicianName PersonAddress
    PersonIdentificationCodeSequence PersonName PersonTelephoneNumbers PhysicianApprovingInterpretation
    PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence PhysiciansReadingStudyIdentificationSequence
    PlateID PreMedication PregnancyStatus ProtocolName ReasonForStudy ReasonForTheImagingServiceRequest
    ReasonForTheRequestedProcedure ReasonForVisit
    ReferencedPatientAliasSequence ReferencedPatientSequence ReferencedPerformedProcedureStepSequence
    ReferencedStudySequence ReferringPhysicianAddress ReferringPhysicianIdentificationSequence
    ReferringPhysicianTelephoneNumbers RegionOfResidence RequestAttributesSequence RequestedContrastAgent
    RequestedProcedureComments RequestedProcedureDescription RequestedProcedureID RequestedProcedureLocation
    RequestingPhysician RequestingPhysicianIdentificationSequence RequestingService ResponsibleOrganization
    ResponsiblePerson ResultsComments ResultsDistributionListSequence ResultsIDIssuer ReviewerName
    ScheduledHumanPerformersSequence ScheduledPatientInstitutionResidence
    ScheduledPerformingPhysicianIdentificationSequence ScheduledPerformingPhysicianName
    ScheduledProcedureStepEndDate ScheduledProcedureStepEndTime ScheduledProcedureStepStartDate
    ScheduledProcedureStepStartTime ScheduledStationAETitle ScheduledStationGeographicLocationCodeSequence
    ScheduledStationName ScheduledStationNameCodeSequence ScheduledStudyLocation ScheduledStudyLocationAETitle
    SeriesDate SeriesDescription SeriesTime ServiceEpisodeDescription ServiceEpisodeID SmokingStatus
    SourceImageSequence SpecialNeeds StationName StudyComments StudyIDIssuer TextComments TextString
    TimezoneOffsetFromUTC TopicAuthor TopicKeywords TopicSubject TopicTitle VerifyingObserverSequence
    VerifyingOrganization VisitComments
    """.split()
)

# Beyond the table, by value representation: a person's name, a date or time, or an age anywhere
# (sequences included) can identify someone, whatever attribute holds it.
REMOVED_VRS = frozenset({"PN", "DA", "DT", "TM", "AS"})
# Values of the removed attributes that, found in a kept description, would re-identify the patient.
IDENTIFYING_FOR_DESCRIPTION = (
    "PatientName", "PatientID", "OtherPatientIDs", "AccessionNumber", "StudyID", "PatientBirthDate",
    "InstitutionName", "ReferringPhysicianName",
)  # fmt: skip
_WORD_SEPARATORS = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class DeidentifiedDicom:
    data: bytes  # the de-identified file, preamble zeroed
    kept: dict[str, str]  # SHOWN_AS_KEPT attributes present in the copy, with their values
    removed: list[str]  # keywords of the attributes taken out
    replaced: list[str]  # keywords of the attributes emptied or given new UIDs
    private_tags_removed: int
    age_months: int | None = None  # at the X-ray, from PatientAge or the birth and study dates
    sex: str = ""  # M, F, O or unknown
    # The original's, emptied in the copy: the parent's own reference to find the X-ray by (never shared).
    accession_number: str = ""

    def summary(self) -> dict:
        """What the patient is shown, as JSON: no value of anything removed or replaced."""
        return {
            "kept": self.kept,
            "removed": self.removed,
            "replaced": self.replaced,
            "private_tags_removed": self.private_tags_removed,
            "method": METHOD,
        }


@dataclass
class _Changes:
    uid_secret: str
    removed: set[str] = field(default_factory=set)
    replaced: set[str] = field(default_factory=set)
    private_tags: int = 0


def deidentify(data: bytes, uid_secret: str) -> DeidentifiedDicom:
    """De-identify a DICOM file's bytes; the same UID and secret always give the same new UID."""
    try:
        dataset = dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, ValueError, TypeError, KeyError, OSError) as error:
        raise UnreadableImage(
            gettext_noop(
                "The DICOM file is damaged and could not be read. "
                "Export it again from the X-ray system and upload the new file."
            )
        ) from error
    if "TransferSyntaxUID" not in getattr(dataset, "file_meta", {}):
        raise UnreadableImage(
            gettext_noop(
                "The DICOM file is damaged: its header is incomplete. "
                "Export it again from the X-ray system and upload the new file."
            )
        )
    identifying = _identifying_parts(dataset)
    age_months, sex = patient_age_months(dataset), patient_sex(dataset)
    accession_number = kept_text(dataset, "AccessionNumber", 16)
    changes = _Changes(uid_secret)
    _clean(dataset, changes)
    _clean_description(dataset, identifying, changes)
    _retain_characteristics(dataset, age_months, sex, changes)
    _mark_as_deidentified(dataset)
    dataset.file_meta = _file_meta(dataset, dataset.file_meta, changes)
    dataset.preamble = PREAMBLE
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return DeidentifiedDicom(
        data=buffer.getvalue(),
        kept={name: kept_text(dataset, name) for name in SHOWN_AS_KEPT if full_text(dataset, name)},
        removed=sorted(changes.removed),
        replaced=sorted(changes.replaced),
        private_tags_removed=changes.private_tags,
        age_months=age_months,
        sex=sex,
        accession_number=accession_number,
    )


def _retain_characteristics(dataset: Dataset, age_months: int | None, sex: str, changes: _Changes) -> None:
    """Annex E's Retain Patient Characteristics Option, for age and sex only: the age as PatientAge (also
    when the original gave only a birth date, which stays removed), the sex if it was M, F or O."""
    if age_months is not None:
        dataset.PatientAge = f"{age_months:03d}M" if age_months < 24 else f"{min(age_months // 12, 999):03d}Y"
        changes.removed.discard("PatientAge")
    if sex:
        dataset.PatientSex = sex
        changes.replaced.discard("PatientSex")


def _clean(dataset: Dataset, changes: _Changes) -> None:
    """Apply the profile to every element of the dataset and, recursively, of its sequences."""
    for element in list(dataset):
        name, vr = element.keyword or str(element.tag), value_vr(element)  # a UN element by its real VR
        if element.tag.is_private:
            del dataset[element.tag]
            changes.private_tags += 1
        elif name in EMPTIED:
            element.value = [] if element.VR == "SQ" else None
            changes.replaced.add(name)
        elif name in REMOVED or vr in REMOVED_VRS or _is_curve_or_overlay(element) or _unreadable_sequence(element):
            del dataset[element.tag]
            changes.removed.add(name)
        elif element.VR == "UI" and element.value:
            if _remap_uids(element, changes.uid_secret):
                changes.replaced.add(name)
        elif element.VR == "SQ":
            for item in element.value:
                _clean(item, changes)


def _is_curve_or_overlay(element: DataElement) -> bool:
    # Overlays and curves are drawn over the image by viewers, and often carry a name or a date.
    return element.tag.group & 0xFF00 in (0x5000, 0x6000)


def _unreadable_sequence(element: DataElement) -> bool:
    # A sequence sent as UN stays bytes (pydicom reads a long one so): its items cannot be cleaned.
    return element.VR == "UN" and value_vr(element) == "SQ"


def _remap_uids(element: DataElement, secret: str) -> bool:
    values = element.value if element.VM > 1 else [element.value]
    remapped = [remap_uid(str(uid), secret) for uid in values]
    changed = remapped != [str(uid) for uid in values]
    element.value = remapped if element.VM > 1 else remapped[0]
    return changed


def remap_uid(uid: str, secret: str) -> str:
    """A new UID derived from the old one and the secret; standard UIDs (SOP classes...) stay."""
    if uid.startswith(DICOM_ROOT_UID):
        return uid
    return str(generate_uid(entropy_srcs=[secret, uid]))


def _identifying_parts(dataset: Dataset) -> set[str]:
    """The words and numbers of the identifying attributes' values, before they are removed."""
    return {word for name in IDENTIFYING_FOR_DESCRIPTION for word in _words(full_text(dataset, name))}


def _words(value) -> set[str]:
    return set(_WORD_SEPARATORS.split(str(value or "").lower())) - {""}


def _clean_description(dataset: Dataset, identifying: set[str], changes: _Changes) -> None:
    # Annex E removes descriptions because free text may name the patient; the patient is shown
    # which examination the file holds, so it is kept when no word of an identifier appears in it.
    description = full_text(dataset, "StudyDescription")
    if description and _words(description) & identifying:
        del dataset.StudyDescription
        changes.removed.add("StudyDescription")


def _mark_as_deidentified(dataset: Dataset) -> None:
    codes = []
    for value, scheme, meaning in (BASIC_PROFILE_CODE, RETAIN_CHARACTERISTICS_CODE):
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator, code.CodeMeaning = value, scheme, meaning
        codes.append(code)
    dataset.PatientIdentityRemoved = "YES"
    dataset.DeidentificationMethod = METHOD
    dataset.DeidentificationMethodCodeSequence = codes
    dataset.LongitudinalTemporalInformationModified = "REMOVED"


def _file_meta(dataset: Dataset, original: FileMetaDataset, changes: _Changes) -> FileMetaDataset:
    """A new file meta group: the original's may name the sending station (its AE titles)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.get("SOPClassUID") or original.get("MediaStorageSOPClassUID")
    instance = dataset.get("SOPInstanceUID") or remap_uid(
        str(original.get("MediaStorageSOPInstanceUID", "")), changes.uid_secret
    )
    meta.MediaStorageSOPInstanceUID = instance
    meta.TransferSyntaxUID = original.TransferSyntaxUID
    return meta
