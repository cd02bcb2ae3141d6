from django.urls import path

from adaptation import views

app_name = "adaptation"
urlpatterns = [
    path("", views.page, name="page"),
    path("imports/", views.imports, name="imports"),
    path("imports/new/", views.upload, name="upload"),
    path("runs/", views.runs, name="runs"),
    path("runs/new/", views.adapt, name="adapt"),
    path("heads/<int:pk>/", views.head, name="head"),
    path("heads/<int:pk>/activate/", views.activate, name="activate"),
    path("heads/shipped/", views.roll_back, name="roll_back"),
]
