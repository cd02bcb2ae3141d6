from django.urls import path

from reviews import views

app_name = "reviews"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("<int:pk>/", views.case, name="case"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/release/", views.release, name="release"),
    path("ask/<int:pk>/", views.request_review, name="request"),
]
