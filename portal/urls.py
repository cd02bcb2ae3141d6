from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from api import dicomweb_read as wado
from api import views as api_views
from api.dicomweb import StoreInstances
from operations import views as operations_views
from scans import views as scan_views

# The admin's own login form has no throttling: staff log in through allauth's, like everyone else.
admin.site.login = secure_admin_login(admin.site.login)

# No MEDIA_URL route on purpose: stored X-rays are only served by scans' permission-checked views.
handler500 = "portal.errors.server_error"

# Any text up to the next slash: the view answers a malformed UID with a 400 saying so, not a bare 404.
STUDY = r"(?P<study_uid>[^/]{1,200})"
SERIES = STUDY + r"/series/(?P<series_uid>[^/]{1,200})"
INSTANCE = SERIES + r"/instances/(?P<sop_uid>[^/]{1,200})"


def by_method(read, store):
    """DICOMweb's one address for two things: GET reads (QIDO-RS or WADO-RS, token or session), POST stores
    (STOW-RS, a site's token only)."""
    read_view, store_view = read.as_view(), store.as_view()

    @csrf_exempt  # as DRF's views are: the store takes a token, never a session; a read changes nothing
    def dispatch(request, *args, **kwargs):
        return (store_view if request.method == "POST" else read_view)(request, *args, **kwargs)

    return dispatch


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
    re_path(r"^dicomweb/studies/?$", by_method(wado.SearchStudies, StoreInstances), name="stow"),
    re_path(r"^dicomweb/series/?$", wado.SearchSeries.as_view()),
    re_path(r"^dicomweb/instances/?$", wado.SearchInstances.as_view()),
    re_path(rf"^dicomweb/studies/{STUDY}/?$", by_method(wado.RetrieveInstances, StoreInstances), name="stow-study"),
    re_path(rf"^dicomweb/studies/{STUDY}/metadata/?$", wado.RetrieveMetadata.as_view()),
    re_path(rf"^dicomweb/studies/{STUDY}/series/?$", wado.SearchSeries.as_view()),
    re_path(rf"^dicomweb/studies/{STUDY}/instances/?$", wado.SearchInstances.as_view()),
    re_path(rf"^dicomweb/studies/{SERIES}/?$", wado.RetrieveInstances.as_view()),
    re_path(rf"^dicomweb/studies/{SERIES}/metadata/?$", wado.RetrieveMetadata.as_view()),
    re_path(rf"^dicomweb/studies/{SERIES}/instances/?$", wado.SearchInstances.as_view()),
    re_path(rf"^dicomweb/studies/{INSTANCE}/?$", wado.RetrieveInstances.as_view(), name="dicomweb-instance"),
    re_path(rf"^dicomweb/studies/{INSTANCE}/metadata/?$", wado.RetrieveMetadata.as_view()),
    re_path(rf"^dicomweb/studies/{INSTANCE}/frames/(?P<frames>[^/]+)/?$", wado.RetrieveFrames.as_view()),
    re_path(rf"^dicomweb/studies/{INSTANCE}/rendered/?$", wado.RetrieveRendered.as_view()),
    re_path(r"^api/", api_views.not_found),  # every other address under /api/ answers in JSON too
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
]
