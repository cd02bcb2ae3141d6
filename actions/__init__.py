"""What follows an event, each consequence in one home (as zulip's zerver/actions): the web, the API, the
DICOM listener and the worker call these, and the apps below know nothing of one another's consequences.

readings: what follows the worker's outcome for a scan (the review case, the patient's email, the PACS).
reviews: what follows a signed review (the patient's email, the PACS, the site head's reference case).
scans: an upload (quota, profile, clinical context) and showing a scan (who may, and every audit event
of what is shown).
"""
