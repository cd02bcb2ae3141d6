"""The account's patient profiles: one per person whose X-rays it uploads (usually each child)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from patients.forms import PatientForm
from patients.models import Patient


@login_required
@require_http_methods(["GET", "POST"])
def patient_list(request):
    form = PatientForm(request.POST or None)
    if form.is_valid():
        form.instance.owner = request.user
        patient = form.save()
        messages.success(
            request, gettext("%(name)s was added. Choose them when you upload their X-ray.") % {"name": patient.name}
        )
        return redirect("patients:list")
    patients = Patient.objects.of(request.user).annotate(scan_count=Count("scans"))
    return render(request, "patients/list.html", {"patients": patients, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def patient_edit(request, pk: int):
    patient = Patient.objects.of(request.user).filter(pk=pk).first()
    if patient is None:
        raise Http404("No such profile.")
    form = PatientForm(request.POST or None, instance=patient)
    if form.is_valid():
        form.save()
        messages.success(
            request,
            gettext("%(name)s's profile was saved. Ages at new X-rays use the new date.") % {"name": patient.name},
        )
        return redirect("patients:list")
    return render(request, "patients/edit.html", {"patient": patient, "form": form})
