"""Radiologists' pages (the worklist and one case) and the staff monitoring page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.template.defaultfilters import date
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from actions.reviews import sign_review
from actions.scans import earlier_of_the_same_person, get_scan_for, show_scan, visible_scans
from actions.viewer import dicom_viewer
from audit.services import Action, record
from hospitals.models import Site
from reviews import drift, services
from reviews import monitoring as figures
from reviews.access import radiologist_required
from reviews.forms import ReviewForm
from reviews.models import review_case_of
from reviews.worklist import worklist as build_worklist
from scans import model_card
from scans.models import Scan

CASES_PER_PAGE = 25
PRIOR_SCANS_SHOWN = 6


@radiologist_required
@require_GET
def worklist(request):
    work = build_worklist(request.user, reason=request.GET.get("reason", ""), claim=request.GET.get("claim", ""))
    page = work.page(request.GET.get("page"), CASES_PER_PAGE)
    # The user's id, not request.user: each comparison with the lazy user object costs, 25 rows a page.
    context = {"work": work, "page": page, "me": request.user.pk}
    return render(request, "reviews/worklist.html", context)


@radiologist_required
@require_http_methods(["GET", "POST"])
def case(request, pk: int):
    # Reading the case shows the scan (audited as shown); signing it only needs to see it.
    scan = show_scan(request, pk, shown_on="review page") if request.method == "GET" else get_scan_for(request, pk)
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            review = sign_review(scan, request.user, **form.cleaned_data)
        except services.ClaimNotHeld as refusal:
            messages.error(request, f"The review was not saved: {refusal}")
            return redirect("reviews:case", pk=scan.pk)
        record(request, Action.REVIEWED, review, detail=review.finding)
        messages.success(request, f"Review of case {scan.pk} signed; the patient can read it now.")
        return redirect("reviews:worklist")
    return render(request, "reviews/case.html", _case_context(request.user, scan, form))


def _case_context(user, scan: Scan, form: ReviewForm) -> dict:
    prediction = scan.latest_prediction
    case = review_case_of(scan)
    holder = case.claim_holder() if case else None
    # The patient's earlier X-rays are visible once the radiologist holds the case (reached_by_reviewing).
    priors = (
        earlier_of_the_same_person(visible_scans(user), scan)
        .with_latest_prediction()
        .order_by("-created_at", "-id")[:PRIOR_SCANS_SHOWN]
    )
    return {
        "scan": scan,
        "case": case,
        "prediction": prediction,
        "review_band": model_card.band_of(prediction),
        "review": scan.latest_review,
        "holder": holder,
        "held_by_me": holder is not None and holder.pk == user.pk,
        "priors": priors,
        "dicom_viewer": dicom_viewer(user, scan),
        "xray_text_alternative": _xray_text_alternative(scan, prediction),
        "form": form,
    }


def _xray_text_alternative(scan: Scan, prediction) -> str:
    """The X-ray's name for a screen reader on the case page, for the PNG viewer and the diagnostic
    viewer that replaces it alike (staff pages are in English)."""
    text = f"Chest X-ray of case {scan.pk}, uploaded {date(timezone.localtime(scan.created_at), 'j M Y')}"
    if prediction:
        text += f", computer reading: {prediction.band_words.lower()}, {prediction.display_percent} chance of pneumonia"
    return text


@radiologist_required
@require_POST
def claim(request, pk: int):
    scan = get_scan_for(request, pk)
    if services.claim(scan.pk, request.user):
        record(request, Action.CLAIMED, scan)
        return redirect("reviews:case", pk=scan.pk)
    messages.error(request, f"Case {scan.pk} is being reviewed by another radiologist, or no longer needs a review.")
    return redirect("reviews:worklist")


@login_required
@require_POST
def request_review(request, pk: int):
    """A patient asks for a radiologist to read their X-ray."""
    scan = get_scan_for(request, pk, owner_only=True)
    if services.request_review(scan):
        record(request, Action.REQUESTED, scan)
        messages.success(
            request, gettext("You asked for a radiologist's review. We will let you know when it is done.")
        )
    elif not scan.is_finished:
        messages.error(request, gettext("You can ask for a review once the computer reading is finished."))
    else:
        messages.info(request, gettext("A radiologist's review was already asked for or done."))
    return redirect(scan)


@radiologist_required
@require_POST
def release(request, pk: int):
    scan = get_scan_for(request, pk)
    if services.release(scan.pk, request.user):
        record(request, Action.RELEASED, scan)
        messages.success(request, f"Case {scan.pk} is back on the worklist.")
    return redirect("reviews:worklist")


@staff_member_required
@require_GET
def monitoring(request):
    # Staff without the right to read reviews get the admin's answer for a missing permission.
    if not request.user.has_perm("reviews.view_review"):
        raise PermissionDenied
    sites = drift.by_site()
    context = {
        "overall": figures.agreement(),
        "by_month": figures.agreement_by_month(),
        "by_age_band": figures.agreement_by_age_band(),
        "calibration": figures.calibration(),
        "drift": sites,
        "alerts": drift_alerts(sites),
        "refusal_distance": drift.refusal_distance(),
        "rule": drift,
    }
    return render(request, "reviews/monitoring.html", context)


def drift_alerts(sites: list[drift.SiteDrift]) -> list[dict]:
    """The banner's lines: each site with a recent week out of its usual range, and whether it has
    enough new reference cases to adapt again."""
    drifting = [(site, weeks) for site in sites if (weeks := site.alerts())]
    known = Site.objects.in_bulk([site.site_id for site, _ in drifting if site.site_id is not None])
    return [{"site": site, "weeks": weeks, **adapting_again(known.get(site.site_id))} for site, weeks in drifting]


def adapting_again(site: Site | None) -> dict:
    """How many reference cases the site (None: the installation) gained since its active head was fitted,
    and whether that is enough to adapt again."""
    # Imported here: ml.adaptation brings SciPy and scikit-learn, which only a drifting site's banner needs.
    from adaptation.references import reference_cases_since_active_head
    from ml.adaptation import MIN_CASES

    new_cases = reference_cases_since_active_head(site)
    return {"new_cases": new_cases, "needed": MIN_CASES, "may_adapt": new_cases >= MIN_CASES}
