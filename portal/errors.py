"""Error answers that depend on where they happen: JSON under /api/, the portal's pages elsewhere."""

from django.http import JsonResponse
from django.views import csrf, defaults

API_PREFIX = "/api/"


def server_error(request):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Something went wrong on our side; it has been logged."}, status=500)
    return defaults.server_error(request)


def csrf_failure(request, reason=""):
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "This request was refused: send the API token, not a browser session."}, status=403
        )
    return csrf.csrf_failure(request, reason=reason)
