from django.conf import settings

from scans.validation import format_size

ACCEPTED_FORMATS = ("JPEG", "PNG", "DICOM")


def upload_limits(request):
    """The upload limits, so every page that mentions them states the values actually enforced."""
    return {
        "upload_limits": {
            "max_bytes": settings.SCAN_MAX_UPLOAD_BYTES,
            "max_size": format_size(settings.SCAN_MAX_UPLOAD_BYTES),
            "max_files": settings.SCAN_MAX_FILES_PER_UPLOAD,
            "formats": ACCEPTED_FORMATS,
        }
    }
