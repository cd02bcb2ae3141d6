from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from api import views

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves its start-up script as a file: no inline script for the CSP to forbid.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html"),
        name="docs",
    ),
    path("auth/token/", views.ObtainToken.as_view(), name="token"),
    path("patients/", views.PatientList.as_view(), name="patients"),
    path("scans/", views.ScanList.as_view(), name="scans"),
    path("scans/<int:pk>/", views.ScanDetail.as_view(), name="scan"),
    path("scans/<int:pk>/image/", views.ScanImage.as_view(), name="scan-image"),
    path("scans/<int:pk>/heatmap/", views.ScanHeatmap.as_view(), name="scan-heatmap"),
    path("scans/<int:pk>/dicom/", views.ScanDicom.as_view(), name="scan-dicom"),
    path("scans/<int:pk>/report/", views.ScanReport.as_view(), name="scan-report"),
    path("scans/<int:pk>/dicom-sr/", views.ScanDicomSR.as_view(), name="scan-dicom-sr"),
    path("scans/<int:pk>/dicom-heatmap/", views.ScanDicomHeatmap.as_view(), name="scan-dicom-heatmap"),
    path("scans/<int:pk>/fhir/", views.ScanFhir.as_view(), name="scan-fhir"),
    path("worklist/", views.Worklist.as_view(), name="worklist"),
    path("worklist/<int:scan_id>/review/", views.ReviewCreate.as_view(), name="review"),
    # Last: any other address under the API answers in JSON, not with the web's HTML 404 page.
    re_path(r"^.*$", views.not_found),
]
