"""Patient pages: upload, history, one scan's result, comparison with the one before, and the protected files."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from audit.services import Action, record
from scans import model_card
from scans.access import get_scan_for
from scans.downloads import DICOM, PDF, generated_file, private_file
from scans.forms import UploadForm
from scans.models import Scan
from scans.report import render_report
from scans.services import upload_scans

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
        return render(request, "scans/upload.html", {"form": UploadForm()})
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, "scans/upload.html", {"form": form})
    outcome = upload_scans(request.user, form.cleaned_data["files"])
    if outcome.refused:
        # Shown on the page, file by file, rather than in a message that is easy to miss.
        return render(request, "scans/upload.html", {"form": UploadForm(), "outcome": outcome})
    count = len(outcome.created)
    messages.success(
        request,
        f"{count} X-ray{'s' if count > 1 else ''} uploaded. The computer reading is usually ready within a minute.",
    )
    return redirect("scans:history")


@login_required
@require_GET
def history(request):
    own_scans = Scan.objects.filter(owner=request.user)
    page = Paginator(own_scans.with_readings(), SCANS_PER_PAGE).get_page(request.GET.get("page"))
    trend = own_scans.with_reading_visible_to(request.user).latest_probabilities()[:TREND_LENGTH]
    return render(request, "scans/history.html", {"page": page, "trend_readings": trend})


@login_required
@require_GET
def detail(request, pk: int):
    scan = get_scan_for(request, pk)
    record(request, Action.VIEWED, scan)
    if scan.latest_review is not None:
        record(request, Action.VIEWED, scan.latest_review)
    prediction = scan.reading_for(request.user)
    band = model_card.review_band(model_card.read_manifest(), prediction.model_version) if prediction else None
    context = {
        "scan": scan,
        "prediction": prediction,
        "review_band": band,
        "review": scan.latest_review,
        "ai_held": scan.status == Scan.Status.DONE and scan.ai_held_from(request.user),
        "previous": previous_scan(request.user, scan),
        "review_case": scan.open_review_case,
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


def previous_scan(user, scan: Scan) -> Scan | None:
    """The same patient's X-ray uploaded just before this one, if the user may see it."""
    earlier = Scan.objects.visible_to(user).filter(owner=scan.owner_id, created_at__lt=scan.created_at)
    return earlier.with_latest_prediction().order_by("-created_at", "-id").first()


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
    scan = get_scan_for(request, pk)
    record(request, Action.DOWNLOADED, scan)
    return private_file(scan.image, f"scan-{scan.pk}.png")


@login_required
@require_GET
def heatmap(request, pk: int):
    scan = get_scan_for(request, pk)
    prediction = scan.reading_for(request.user)
    if prediction is None or not prediction.heatmap:
        raise Http404("This scan has no heatmap.")
    record(request, Action.DOWNLOADED, prediction)
    return private_file(prediction.heatmap, f"scan-{pk}-heatmap.png")


@login_required
@require_GET
def dicom(request, pk: int):
    scan = get_scan_for(request, pk)
    if not scan.dicom_file:
        raise Http404("This X-ray was not uploaded as a DICOM file.")
    record(request, Action.DOWNLOADED, scan, detail="de-identified DICOM")
    return private_file(scan.dicom_file, f"scan-{pk}-deidentified.dcm", DICOM)


@login_required
@require_GET
def report(request, pk: int):
    scan = get_scan_for(request, pk)
    record(request, Action.DOWNLOADED, scan, detail="report")
    return generated_file(render_report(scan, request.user), f"scan-{pk}-report.pdf", PDF)


@login_required
@require_http_methods(["GET", "POST"])
def delete(request, pk: int):
    scan = get_scan_for(request, pk, owner_only=True)
    if request.method == "GET":
        return render(request, "scans/delete.html", {"scan": scan})
    scan.delete_with_files()
    record(request, Action.DELETED, object_type="scan", object_id=pk, scan_id=pk)
    messages.success(request, f"The X-ray \u201c{scan.original_filename}\u201d and its results were deleted.")
    return redirect("scans:history")
