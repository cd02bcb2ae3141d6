from django.urls import path

from scans import views

app_name = "scans"
urlpatterns = [
    path("", views.history, name="history"),
    path("upload/", views.upload, name="upload"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.status, name="status"),
    path("<int:pk>/row/", views.row, name="row"),
    path("<int:pk>/image/", views.image, name="image"),
    path("<int:pk>/heatmap/", views.heatmap, name="heatmap"),
    path("<int:pk>/dicom/", views.dicom, name="dicom"),
    path("<int:pk>/report/", views.report, name="report"),
    path("<int:pk>/delete/", views.delete, name="delete"),
    path("<int:pk>/compare/", views.compare, name="compare"),
]
