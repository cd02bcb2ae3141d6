from django.urls import path

from hospitals import views

app_name = "hospitals"
urlpatterns = [
    path("sites/", views.studies, name="studies"),
    path("<int:pk>/reading.dcm", views.structured_report, name="structured-report"),
    path("<int:pk>/reading.fhir.json", views.fhir_report, name="fhir-report"),
]
