"""Give every scan stored before DICOMweb its DICOM copy: a Secondary Capture for a JPEG or PNG upload, the
index of its de-identified copy for a DICOM one (new scans get theirs when stored, scans.services). Safe to
run again: a scan that has its copy is left as it is."""

from django.core.management.base import BaseCommand

from hospitals.intake import site_patient_key
from hospitals.models import DicomOrigin
from scans.dicom_instances import index_scan
from scans.models import DicomInstance, Scan


class Command(BaseCommand):
    help = "Make the DICOM copies (Secondary Captures for pictures) of scans that have none, for DICOMweb."

    def handle(self, *args, **options):
        made, failed = 0, 0
        scans = Scan.objects.exclude(pk__in=DicomInstance.objects.values("scan")).order_by("pk")
        for scan in scans.iterator(chunk_size=100):
            try:
                index_scan(scan, patient_key=_patient_key(scan))
            except Exception as error:  # one unreadable file must not leave the others without their copy
                failed += 1
                self.stderr.write(f"scan {scan.pk}: {type(error).__name__}: {error}")
                continue
            made += 1
        self.stdout.write(f"{made} DICOM copies made, {failed} failed.")
        if failed:
            raise SystemExit(1)


def _patient_key(scan: Scan) -> str | None:
    if not scan.site_id:
        return None  # a profile's: index_scan names the profile
    origin = DicomOrigin.objects.filter(scan=scan).only("site", "patient_id").first()
    return site_patient_key(scan.site_id, origin.patient_id) if origin is not None else None
