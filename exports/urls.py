from django.urls import path

from exports import views

app_name = "exports"
urlpatterns = [
    path("", views.exports_page, name="page"),
    path("<int:pk>/download/", views.download, name="download"),
]
