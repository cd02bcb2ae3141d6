"""The diagnostic viewer's first image on the case page: `.venv/bin/python bench/viewer_first_image.py [-n 20]`.

A 16-bit 2300x2300 uncompressed DICOM (10.6 MB) is uploaded through the real path; a radiologist then
opens its case page in headless Chromium n times, each in a fresh context (an empty cache, and the cache
disabled besides). The clock is the browser's own: from navigation start to the viewer's
"dicom-viewer:first-image" performance mark, set once the original's first image is on screen. gunicorn
(three sync workers, as the Dockerfile runs it) on the embedded set-up (SQLite, a temporary var folder),
or on DATABASE_URL when set. Prints p50/p90 and the bundle's size, raw and gzipped.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench import harness  # noqa: E402
from bench.run import configure_environment, percentile  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
BUNDLE = REPO_DIR / "static" / "vendor" / "cornerstone"
SIDE = 2300  # 2300 x 2300 x 2 bytes = 10.6 MB of pixels
FIRST_IMAGE = """() => new Promise((resolve, reject) => {
  const mark = () => performance.getEntriesByName("dicom-viewer:first-image")[0];
  const frame = () => performance.getEntriesByType("resource").find((entry) => entry.name.endsWith("/frames/1"));
  const rendering = () => document.querySelector("[data-dicom-viewer]").dataset.rendering;
  const done = () => resolve({ first_image_ms: mark().startTime, frame_ms: frame()?.duration, rendering: rendering() });
  if (mark()) return done();
  document.addEventListener("dicom-viewer:first-image", done, { once: true });
  setTimeout(() => reject(new Error("no first image in 60 s: state " + document.querySelector("[data-dicom-viewer]")?.dataset.state)), 60000);
})"""


def ten_megabyte_study() -> bytes:
    from tests.ml.dicom_files import identifying_dicom_bytes

    ramp = np.linspace(0, 65535, SIDE, dtype=np.uint16)
    return identifying_dicom_bytes(np.tile(ramp, (SIDE, 1)), bits_stored=16, PixelSpacing=[0.15, 0.15])


def case_to_open() -> tuple[int, str]:
    """The study's case on the worklist, and a radiologist's session that may open it."""
    from django.test import Client

    from tests.browser.dicom_studies import uploaded
    from tests.factories import PatientFactory, RadiologistFactory

    scan = uploaded(PatientFactory(), ten_megabyte_study())
    radiologist = RadiologistFactory()  # with a second factor, which the review pages require
    client = Client()
    client.force_login(radiologist)
    return scan.pk, client.cookies["sessionid"].value


def bundle_size() -> dict:
    files = sorted(BUNDLE.glob("*.js"))
    raw = sum(path.stat().st_size for path in files)
    zipped = sum(len(gzip.compress(path.read_bytes(), 9)) for path in files)
    return {"bundle_bytes": raw, "bundle_gzip_bytes": zipped, "bundle_files": [path.name for path in files]}


def time_first_images(browser, server, pk: int, session: str, rounds: int) -> list[dict]:
    timings = []
    for _ in range(rounds):
        context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": "sessionid", "value": session, "url": server.url}])
        page = context.new_page()
        context.new_cdp_session(page).send("Network.setCacheDisabled", {"cacheDisabled": True})
        page.goto(f"/reviews/{pk}/")
        timings.append(page.evaluate(FIRST_IMAGE))
        context.close()
    return timings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="page loads to time (default 20)")
    args = parser.parse_args(argv)
    var = configure_environment() or Path.cwd()
    from playwright.sync_api import sync_playwright

    pk, session = case_to_open()
    server = harness.WebServer(Path(var) / "gunicorn-viewer.log")
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
            time_first_images(browser, server, pk, session, 1)  # warms the server's workers; not counted
            timings = time_first_images(browser, server, pk, session, args.n)
            renderer = browser.version
            browser.close()
    finally:
        server.stop()
    first = [timing["first_image_ms"] for timing in timings]
    frames = [timing["frame_ms"] for timing in timings if timing["frame_ms"] is not None]
    row = {
        "figure": "diagnostic viewer, navigation start to first image, 10.6 MB 16-bit DICOM",
        "n": len(first),
        "p50_ms": round(statistics.median(first)),
        "p90_ms": round(percentile(first, 0.90)),
        "max_ms": round(max(first)),
        "frame_fetch_p50_ms": round(statistics.median(frames)) if frames else None,
        "chromium": renderer,
        "rendering": sorted({timing["rendering"] for timing in timings}),
        **bundle_size(),
    }
    print(json.dumps(row))


if __name__ == "__main__":
    main()
