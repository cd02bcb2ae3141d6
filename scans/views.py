"""Patient pages: upload, history, one scan's result, and the protected image files."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from scans import model_card
from scans.access import get_scan_for
from scans.forms import UploadForm
from scans.models import Scan
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
    own_scans = Scan.objects.filter(owner=request.user).with_latest_prediction()
    page = Paginator(own_scans, SCANS_PER_PAGE).get_page(request.GET.get("page"))
    finished = own_scans.filter(status=Scan.Status.DONE)[:TREND_LENGTH]
    return render(request, "scans/history.html", {"page": page, "trend_scans": finished})


@login_required
@require_GET
def detail(request, pk: int):
    scan = get_scan_for(request.user, pk)
    prediction = scan.latest_prediction
    band = model_card.review_band(model_card.read_manifest(), prediction.model_version) if prediction else None
    return render(request, "scans/detail.html", {"scan": scan, "prediction": prediction, "review_band": band})


@login_required
@require_GET
def status(request, pk: int):
    scan = get_scan_for(request.user, pk)
    if scan.is_finished and request.htmx:
        # The result needs the whole page (image, heatmap, explanations): have htmx reload it once.
        return HttpResponseClientRefresh()
    if request.GET.get("shown") == scan.status:
        return HttpResponse(status=204)  # nothing new: htmx keeps the page as it is
    return render(request, "scans/detail.html#status", {"scan": scan})


@login_required
@require_GET
def image(request, pk: int):
    scan = get_scan_for(request.user, pk)
    return _private_png(scan.image, f"scan-{scan.pk}.png")


@login_required
@require_GET
def heatmap(request, pk: int):
    prediction = get_scan_for(request.user, pk).latest_prediction
    if prediction is None or not prediction.heatmap:
        raise Http404("This scan has no heatmap.")
    return _private_png(prediction.heatmap, f"scan-{pk}-heatmap.png")


@login_required
@require_http_methods(["GET", "POST"])
def delete(request, pk: int):
    scan = get_scan_for(request.user, pk, owner_only=True)
    if request.method == "GET":
        return render(request, "scans/delete.html", {"scan": scan})
    scan.delete_with_files()
    messages.success(request, f"The X-ray \u201c{scan.original_filename}\u201d and its results were deleted.")
    return redirect("scans:history")


def _private_png(field_file, filename: str) -> FileResponse:
    """Stream a stored PNG to the one user allowed to see it; browsers and proxies must not keep a copy."""
    try:
        stream = field_file.storage.open(field_file.name, "rb")
    except FileNotFoundError as error:
        raise Http404("The stored image is missing.") from error
    response = FileResponse(stream, content_type="image/png", filename=filename)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
