"""The staff adaptation page: import reference films, fit a head, read its figures, activate it or roll
back. Every switch of heads is audited where it is made (adaptation.heads)."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adaptation import heads, references, reports
from adaptation.forms import ReferenceZipForm
from adaptation.models import AdaptationRun, Job, ReadingHead, ReferenceCase, ReferenceImport
from adaptation.network import network_version
from adaptation.sites import whose
from hospitals.models import Site

SHOWN = 5


def adaptation_staff_required(view):
    """Staff who may change reading heads (the admin's permission); others get the admin's answer."""

    @staff_member_required
    @wraps(view)
    def checked(request, *args, **kwargs):
        if not request.user.has_perm("adaptation.change_readinghead"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


def site_from(value: str | None) -> Site | None:
    """The site named by the page's `site` parameter; empty for the installation; 404 for anything else."""
    if not value:
        return None
    if not value.isdecimal():
        raise Http404("No such site.")
    return get_object_or_404(Site, pk=value)


def page_url(site: Site | None, anchor: str = "") -> str:
    return reverse("adaptation:page") + (f"?site={site.pk}" if site else "") + anchor


@adaptation_staff_required
@require_GET
def page(request):
    site = site_from(request.GET.get("site"))
    version = network_version()
    cases = ReferenceCase.objects.of(site).filter(base_model_version=version)
    active = heads.active_head(site.pk if site else None, version)  # the site's, else the installation's
    counts = cases.aggregate(
        normal=Count("pk", filter=Q(label="normal", weight__gt=0)),
        pneumonia=Count("pk", filter=Q(label="pneumonia", weight__gt=0)),
        left_out=Count("pk", filter=Q(weight=0)),
    )
    context = {
        "site": site,
        "sites": Site.objects.all(),
        "whose": whose(site),
        "version": version,
        "counts": counts,
        "form": ReferenceZipForm(initial={"site": site}),
        "heads": ReadingHead.objects.of(site).select_related("created_by")[:20],
        "active": active,
        "own_active": active if active and active.site_id == (site.pk if site else None) else None,
        **_imports(site),
        **_runs(site),
    }
    return render(request, "adaptation/page.html", context)


def _imports(site) -> dict:
    imports = list(ReferenceImport.objects.filter(site=site)[:SHOWN])  # site=None: the installation's
    return {"imports": imports, "imports_polling": any(job.is_unfinished for job in imports)}


def _runs(site) -> dict:
    runs = list(AdaptationRun.objects.filter(site=site).select_related("reading_head", "requested_by")[:SHOWN])
    return {"runs": runs, "runs_polling": any(run.is_unfinished for run in runs)}


@adaptation_staff_required
@require_GET
def imports(request):
    site = site_from(request.GET.get("site"))
    return render(request, "adaptation/_imports.html", {"site": site, **_imports(site)})


@adaptation_staff_required
@require_GET
def runs(request):
    site = site_from(request.GET.get("site"))
    return render(request, "adaptation/_runs.html", {"site": site, **_runs(site)})


@adaptation_staff_required
@require_http_methods(["POST"])
def upload(request):
    form = ReferenceZipForm(request.POST, request.FILES)
    if form.is_valid():
        site = form.cleaned_data["site"]
        try:
            references.request_import(form.cleaned_data["zip"], site, request.user)
        except ValidationError as error:
            form.add_error("zip", error)
        else:
            messages.success(request, f"The zip is being imported for {whose(site)}; this page shows its progress.")
            return redirect(page_url(site, "#imports"))
    site = form.cleaned_data.get("site") if hasattr(form, "cleaned_data") else None
    messages.error(request, "The zip was not imported: " + " ".join(_errors(form)))
    return redirect(page_url(site, "#import"))


def _errors(form) -> list[str]:
    return [message for errors in form.errors.values() for message in errors]


@adaptation_staff_required
@require_POST
def adapt(request):
    site = site_from(request.POST.get("site"))
    pending = AdaptationRun.objects.filter(site=site, status__in=(Job.QUEUED, Job.RUNNING)).exists()
    if not pending:
        run = AdaptationRun.objects.create(site=site, requested_by=request.user)
        run.start()
    messages.success(request, f"A head is being fitted on the reference cases of {whose(site)}.")
    return redirect(page_url(site, "#runs"))


@adaptation_staff_required
@require_GET
def head(request, pk: int):
    reading_head = get_object_or_404(ReadingHead.objects.select_related("site", "created_by"), pk=pk)
    return render(request, "adaptation/head.html", {"head": reading_head, **report_context(reading_head.report)})


def report_context(report: dict) -> dict:
    return {
        "report": report,
        "figure_rows": reports.figure_rows(report),
        "curves": reports.reliability_curves(report),
        "reliability_rows": reports.reliability_table(report),
    }


@adaptation_staff_required
@require_POST
def activate(request, pk: int):
    reading_head = get_object_or_404(ReadingHead.objects.select_related("site"), pk=pk)
    try:
        heads.activate(reading_head, request.user, request=request)
    except heads.NotActivatable as refusal:
        messages.error(request, f"Not activated: {refusal}")
    else:
        messages.success(request, f"New films of {whose(reading_head.site)} are read as {reading_head.version}.")
    return redirect(page_url(reading_head.site, "#heads"))


@adaptation_staff_required
@require_POST
def roll_back(request):
    site = site_from(request.POST.get("site"))
    heads.roll_back_to_shipped(site, request.user, request=request)
    messages.success(request, f"New films of {whose(site)} are read without its adapted head.")
    return redirect(page_url(site, "#heads"))
