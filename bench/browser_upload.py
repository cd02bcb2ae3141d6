"""Upload to reading, as a parent sees it in Chromium: `.venv/bin/python bench/browser_upload.py [-n 50]`.

Each round opens the upload page, chooses an X-ray, picks the child, ticks two symptoms and submits;
the clock runs from the click until Chromium shows the reading's probability on the page the upload
landed on (the X-ray's own page, where htmx polls the status and reloads once it is done). Nothing is
computed from server timestamps. gunicorn (three sync workers, as the Dockerfile runs it) and one
Celery worker on the embedded set-up, or on DATABASE_URL / CELERY_BROKER_URL when set.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench import harness  # noqa: E402
from bench.run import configure_environment, make_patient, percentile, xray_jpegs  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="uploads to time (default 50)")
    args = parser.parse_args(argv)
    configure_environment()
    from django.test import Client
    from playwright.sync_api import expect, sync_playwright

    from patients.models import Patient

    var = Path(os.environ["PORTAL_VAR_DIR"])
    parent, _ = make_patient("browser")
    child = Patient.objects.create(owner=parent, name="Mia", date_of_birth="2023-03-01")
    client = Client()
    client.force_login(parent)
    session = client.cookies["sessionid"].value
    name, data = xray_jpegs()[0]
    xray = var / name
    xray.write_bytes(data)
    server = harness.WebServer(var / "gunicorn-browser.log")
    worker = harness.Worker(var / "worker-browser.log")
    seconds = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
            context = browser.new_context(base_url=server.url)
            context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
            page = context.new_page()
            for round_number in range(args.n + 2):  # two warm-up rounds, not counted
                page.goto("/scans/upload/")
                page.set_input_files("input[name=files]", xray)
                page.select_option("select[name=patient]", str(child.pk))
                page.locator("details.clinical-context summary").click()
                page.check("input[name=symptoms][value=cough]")
                page.check("input[name=symptoms][value=fever]")
                started = time.monotonic()
                page.click("main form button[type=submit]")
                expect(page.locator(".result .probability")).to_be_visible(timeout=30_000)
                if round_number >= 2:
                    seconds.append(time.monotonic() - started)
            browser.close()
    finally:
        worker.stop()
        server.stop()
    row = {
        "figure": "upload to reading visible in Chromium",
        "n": len(seconds),
        "p50_s": round(statistics.median(seconds), 3),
        "p95_s": round(percentile(seconds, 0.95), 3),
        "max_s": round(max(seconds), 3),
    }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
