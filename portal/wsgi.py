import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
application = get_wsgi_application()
# Import every view now, as each gunicorn worker boots, not during its first request, which would
# otherwise be slow, and under load the requests queued behind it would set the page's p95.
get_resolver().url_patterns  # noqa: B018 (the attribute loads the URLconf)
# What is loaded by now lives as long as the process: leave it out of the collector's full passes,
# which otherwise walk it every few hundred requests and stall the request that triggers them.
gc.freeze()
