"""The data export page: ask for a copy, watch it being prepared, download it while it is kept."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods

from audit.services import Action, record
from exports import services
from exports.models import DataExport
from patients.models import Patient
from scans.downloads import ZIP, private_file

SHOWN = 5


@login_required
@require_http_methods(["GET", "POST"])
def exports_page(request):
    patients = Patient.objects.of(request.user)
    if request.method == "POST":
        chosen = request.POST.get("patient") or None
        patient = patients.filter(pk=chosen).first() if chosen and chosen.isdecimal() else None
        if chosen and patient is None:
            messages.error(request, gettext("Choose one of your profiles, or everything."))
            return redirect("exports:page")
        services.request_export(request.user, patient)
        messages.success(request, gettext("Your data is being prepared. This page shows when it is ready."))
        return redirect("exports:page")
    exports = request.user.data_exports.select_related("patient")[:SHOWN]
    template = "exports/_list.html" if request.htmx else "exports/page.html"
    context = {
        "exports": exports,
        "polling": any(e.is_unfinished for e in exports),
        "keep_days": settings.EXPORT_KEEP_DAYS,
        "patients": patients,
    }
    return render(request, template, context)


@login_required
@require_GET
def download(request, pk: int):
    export = get_object_or_404(DataExport.objects.filter(owner=request.user), pk=pk)
    if not export.is_downloadable:
        raise Http404("This export has expired or is not ready.")
    record(request, Action.DOWNLOADED, request.user, detail="all their data (export)")
    filename = f"pneumonia-screening-data-{timezone.localtime(export.ready_at):%Y-%m-%d}.zip"
    return private_file(export.file, filename, ZIP, as_attachment=True)
