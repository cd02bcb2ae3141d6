"""Patient pages: upload, history, one scan's result, comparison with the one before, and the protected files."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from actions.scans import get_scan_for, previous_scan, show_scan, upload_scans
from actions.viewer import dicom_viewer
from audit.services import Action, record
from patients.models import Patient
from reviews.models import review_case_of, waiting_case_of
from reviews.services import review_request_state
from scans import model_card
from scans.forms import UploadForm
from scans.models import Scan
from scans.scan_files import download

SCANS_PER_PAGE = 20
TREND_LENGTH = 30


@require_GET
def home(request):
    if request.user.is_authenticated:
        return redirect("scans:history")
    return render(request, "home.html")


@require_GET
def about_model(request):
    manifest = model_card.read_manifest()
    context = {"manifest": manifest, "metric_sets": model_card.metric_sets(manifest)}
    return render(request, "about_model.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def upload(request):
    if request.method == "GET":
        chosen = Patient.objects.of(request.user).filter(pk=request.GET.get("patient") or None).first()
        form = UploadForm(account=request.user, initial={"patient": chosen} if chosen else None)
        return render(request, "scans/upload.html", {"form": form})
    form = UploadForm(request.POST, request.FILES, account=request.user)
    if not form.is_valid():
        return render(request, "scans/upload.html", {"form": form})
    context = form.clinical_context()
    outcome = upload_scans(request.user, form.cleaned_data["files"], context)
    if outcome.refused:
        # Shown on the page, file by file, rather than in a message that is easy to miss.
        fresh = UploadForm(account=request.user, initial={"patient": context.patient})
        return render(request, "scans/upload.html", {"form": fresh, "outcome": outcome})
    if len(outcome.created) == 1:  # the reading arrives on the X-ray's own page
        return redirect(outcome.created[0])
    uploaded = len(outcome.created)
    messages.success(
        request,
        ngettext(
            "%(count)s X-ray uploaded for %(name)s. "
            "Each reading appears below as soon as it is ready, usually within a minute.",
            "%(count)s X-rays uploaded for %(name)s. "
            "Each reading appears below as soon as it is ready, usually within a minute.",
            uploaded,
        )
        % {"count": uploaded, "name": context.patient.display_name},
    )
    return redirect(context.patient)


@login_required
@require_GET
def history(request):
    """The account's X-rays, everyone's or one profile's (?patient=); the trend is one person's only."""
    patients = list(Patient.objects.of(request.user))
    patient = next((profile for profile in patients if str(profile.pk) == request.GET.get("patient")), None)
    own_scans = Scan.objects.filter(owner=request.user)
    if patient is not None:
        own_scans = own_scans.filter(patient=patient)
    page = Paginator(own_scans.with_readings().select_related("patient"), SCANS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    trend = own_scans.with_reading_visible_to(request.user).latest_probabilities()[:TREND_LENGTH] if patient else []
    context = {
        "page": page,
        "patients": patients,
        "patient": patient,
        "show_patient": patient is None and len(patients) > 1,
        "trend_readings": trend,
    }
    return render(request, "scans/history.html", context)


@login_required
@require_GET
def row(request, pk: int):
    """One history row, polled by the row itself while its scan is unfinished. Not audited, like status."""
    scan = get_scan_for(request, pk, owner_only=True)
    return render(request, "scans/_history_row.html", {"scan": scan, "show_patient": request.GET.get("whose") == "1"})


@login_required
@require_GET
def detail(request, pk: int):
    scan = show_scan(request, pk, shown_on="scan page")
    prediction = scan.reading_for(request.user)
    band = model_card.band_of(prediction)
    review = scan.latest_review
    context = {
        "scan": scan,
        "prediction": prediction,
        "review_band": band,
        "review": review,
        "xray_text_alternative": scan.text_alternative(prediction, review),
        "ai_held": scan.status == Scan.Status.DONE and scan.ai_held_from(request.user),
        "previous": previous_scan(request.user, scan),
        "review_case": waiting_case_of(scan),
        "review_request": review_request_state(scan, review_case_of(scan)),
        "dicom_viewer": dicom_viewer(request.user, scan),
    }
    return render(request, "scans/detail.html", context)


@login_required
@require_GET
def compare(request, pk: int):
    scan = get_scan_for(request, pk)
    previous = previous_scan(request.user, scan)
    for shown in (scan, previous):
        if shown is not None:
            record(request, Action.VIEWED, shown, detail="compared")
    return render(request, "scans/compare.html", {"scan": scan, "previous": previous})


@login_required
@require_GET
def status(request, pk: int):
    # Not audited: polled twice a second while the scan is unfinished, and it shows no result.
    scan = get_scan_for(request, pk)
    if scan.is_finished and request.htmx:
        # The result needs the whole page (image, heatmap, explanations): have htmx reload it once.
        return HttpResponseClientRefresh()
    if request.GET.get("shown") == scan.status:
        return HttpResponse(status=204)  # nothing new: htmx keeps the page as it is
    return render(request, "scans/detail.html#status", {"scan": scan})


@login_required
@require_GET
def image(request, pk: int):
    return download(request, get_scan_for(request, pk), "image")


@login_required
@require_GET
def heatmap(request, pk: int):
    return download(request, get_scan_for(request, pk), "heatmap")


@login_required
@require_GET
def dicom(request, pk: int):
    return download(request, get_scan_for(request, pk), "dicom")


@login_required
@require_GET
def report(request, pk: int):
    return download(request, get_scan_for(request, pk), "report")


@login_required
@require_http_methods(["GET", "POST"])
def delete(request, pk: int):
    scan = get_scan_for(request, pk, owner_only=True)
    if request.method == "GET":
        return render(request, "scans/delete.html", {"scan": scan})
    scan.delete_with_files()
    record(request, Action.DELETED, object_type="scan", object_id=pk, scan_id=pk)
    messages.success(
        request,
        gettext("The X-ray “%(filename)s” and its results were deleted.")
        % {"filename": scan.original_filename},
    )
    return redirect("scans:history")
