from django.urls import path

from reviews import views

app_name = "staff"
urlpatterns = [
    path("monitoring/", views.monitoring, name="monitoring"),
]
