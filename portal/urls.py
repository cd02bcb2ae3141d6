from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path

from api import views as api_views
from api.dicomweb import StoreInstances
from operations import views as operations_views
from scans import views as scan_views

# The admin's own login form has no throttling: staff log in through allauth's, like everyone else.
admin.site.login = secure_admin_login(admin.site.login)

# No MEDIA_URL route on purpose: stored X-rays are only served by scans' permission-checked views.
handler500 = "portal.errors.server_error"

urlpatterns = [
    path("", scan_views.home, name="home"),
    path("about/model/", scan_views.about_model, name="about_model"),
    path("health/", operations_views.health, name="health"),
    path("metrics", operations_views.metrics, name="metrics"),
    path("scans/", include("scans.urls")),
    path("scans/", include("hospitals.urls")),
    path("patients/", include("patients.urls")),
    path("reviews/", include("reviews.urls")),
    path("staff/", include("reviews.staff_urls")),
    path("staff/adaptation/", include("adaptation.urls")),
    path("", include("accounts.urls")),
    path("account/export/", include("exports.urls")),
    path("api/v1/", include("api.urls")),
    # DICOMweb's paths have no trailing slash (PS3.18); a PACS may add one.
    re_path(r"^dicomweb/studies/?$", StoreInstances.as_view(), name="stow"),
    re_path(r"^dicomweb/studies/(?P<study_uid>[0-9.]{1,64})/?$", StoreInstances.as_view(), name="stow-study"),
    re_path(r"^api/", api_views.not_found),  # every other address under /api/ answers in JSON too
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]
