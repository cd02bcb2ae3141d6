"""Settings by environment, as files: base.py is what every set-up shares, local.py development,
production.py a deployment, test.py the test suite. DJANGO_SETTINGS_MODULE=portal.settings picks local
or production by DJANGO_ENV, so the web, the worker and the compose file name one module."""

import os

if os.environ.get("DJANGO_ENV", "development") == "production":
    from portal.settings.production import *  # noqa: F403
else:
    from portal.settings.local import *  # noqa: F403
