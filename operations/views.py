"""GET /health/ for load balancers and compose; GET /metrics for Prometheus, for staff or a token only."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from operations import checks


@never_cache
@require_GET
def health(request):
    """200 when every part answers, 503 naming the parts that do not; no login, nothing secret."""
    results = checks.run_all()
    healthy = all(result["ok"] for result in results.values())
    body = {"status": "ok" if healthy else "unavailable", "checks": results}
    return JsonResponse(body, status=200 if healthy else 503)


def may_read_metrics(request) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(offered.encode(), token.encode())


@never_cache
@require_GET
def metrics(request):
    if not may_read_metrics(request):
        raise Http404  # not public: nobody else learns it exists
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
