"""From a hospital's PACS to the reading back in it: `.venv/bin/python bench/dicom_roundtrip.py [--studies N]`.

A real Orthanc (Debian's package; scripts/ensure-dicom-peers installs it) sends chest radiographs, one
at a time, to the portal's C-STORE listener (`manage.py dicom_listener`, its own process, as `make run`
starts it); one Celery worker reads each and sends the DICOM SR and the heatmap capture back to Orthanc.
For each study it prints the time from the last byte received (DicomOrigin.received_at, stamped when the
listener's C-STORE handler starts, after the whole instance has arrived) to the SR stored by Orthanc
(ResultDelivery.sent_at, stamped when Orthanc answered the C-STORE with success), with where the time
went, and the wall-clock time Orthanc's own send-to-SR-visible took as seen through its REST API.

Same settings rules as bench/run.py: a throw-away var folder with SQLite and the filesystem broker,
or DATABASE_URL and CELERY_BROKER_URL from the environment. Figures only, no pass/fail.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench import harness  # noqa: E402
from bench.run import configure_environment, percentile  # noqa: E402

SR_STORAGE = "1.2.840.10008.5.1.4.1.1.88.33"
STUDY_TIMEOUT_SECONDS = 120


def chest_studies(count: int, size: int | None = None) -> list[bytes]:
    """Real training X-rays as 12-bit chest CRs with their own study UIDs and accession numbers; blown up
    to `size` pixels on the long side (a detector's 2,500-3,000) when given, else 224 x 224."""
    from ml.constants import DEFAULT_DATA_DIR
    from tests.hospitals.studies import chest_radiograph, xray_pixels

    paths = sorted((DEFAULT_DATA_DIR / "NORMAL").glob("*.jpeg"))[: count // 2 + 1]
    paths += sorted((DEFAULT_DATA_DIR / "PNEUMONIA").glob("*.jpeg"))[: count - len(paths)]
    return [chest_radiograph(_at_size(xray_pixels(path), size)) for path in paths[:count]]


def _at_size(pixels, size: int | None):
    import numpy as np
    from PIL import Image

    if not size:
        return pixels
    film = Image.fromarray(pixels.astype(np.float32), mode="F")
    film = film.resize((size, round(size * 0.83)), Image.Resampling.BICUBIC)
    return np.clip(np.asarray(film), 0, 4095).astype(np.uint16)


def start_listener(log_folder: Path) -> tuple[harness.Process, int]:
    port = harness.free_port()
    command = [sys.executable, "manage.py", "dicom_listener", "--port", str(port)]
    listener = harness.Process(command, log_folder / "listener.log")
    listener.wait_for(lambda: "DICOM listener" in listener.log_tail(), "the DICOM listener")
    return listener, port


def wait_for_sr(orthanc, study_uid: str) -> float:
    deadline = time.monotonic() + STUDY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if orthanc.find_instances(StudyInstanceUID=study_uid, SOPClassUID=SR_STORAGE):
            return time.perf_counter()
        time.sleep(0.05)
    raise RuntimeError(f"no SR for study {study_uid} after {STUDY_TIMEOUT_SECONDS}s")


def sent_report(scan):
    """The SR's delivery row once it records the PACS's answer (Orthanc may show the SR a moment before)."""
    from hospitals.models import ResultDelivery

    deadline = time.monotonic() + STUDY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        report = ResultDelivery.objects.filter(scan=scan, kind=ResultDelivery.Kind.STRUCTURED_REPORT, revision=1)
        report = report.exclude(sent_at=None).first()
        if report is not None:
            return report
        time.sleep(0.05)
    raise RuntimeError(f"the SR of scan {scan.pk} was never recorded as sent")


def one_study(orthanc, data: bytes) -> dict:
    from hospitals.models import DicomOrigin
    from tests.hospitals.studies import identifiers

    study_uid = identifiers(data)["StudyInstanceUID"]
    instance = orthanc.upload(data)
    sent = time.perf_counter()
    orthanc.send_to_portal([instance])
    seen = wait_for_sr(orthanc, study_uid)
    origin = DicomOrigin.objects.select_related("scan").get(study_instance_uid=study_uid)
    scan = origin.scan
    report = sent_report(scan)
    reading = scan.predictions.get()
    return {
        "last_byte_to_sr_stored_s": (report.sent_at - origin.received_at).total_seconds(),
        "queued_s": (scan.started_at - origin.received_at).total_seconds(),
        "inference_ms": reading.inference_ms,
        "reading_to_sr_stored_s": (report.sent_at - scan.finished_at).total_seconds(),
        "orthanc_send_to_sr_visible_s": seen - sent,
        "probability": round(reading.probability, 3),
    }


def summary(name: str, values: list[float]) -> dict:
    return {
        "figure": name,
        "n": len(values),
        "p50_s": round(statistics.median(values), 3),
        "p95_s": round(percentile(values, 0.95), 3),
        "max_s": round(max(values), 3),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=10, help="chest studies to send, one after another")
    parser.add_argument("--size", type=int, help="long side of each film in pixels (default: 224, as trained)")
    arguments = parser.parse_args(argv)
    studies, size = arguments.studies, arguments.size
    configure_environment()
    from hospitals.models import Site, SiteAETitle
    from tests.hospitals.orthanc import Orthanc

    logs = Path(tempfile.mkdtemp(prefix="portal-dicom-bench-"))
    orthanc = Orthanc(logs / "orthanc").start()
    listener, port = start_listener(logs)
    worker = harness.Worker(logs / "worker.log")
    try:
        site = Site.objects.create(
            name=f"Bench hospital {time.time_ns()}", destination_ae_title=orthanc.ae_title,
            destination_host=orthanc.host, destination_port=orthanc.dicom_port,
        )  # fmt: skip
        SiteAETitle.objects.update_or_create(ae_title=orthanc.ae_title, defaults={"site": site})
        orthanc.add_modality("portal", "PNEUMONIA", "127.0.0.1", port)
        one_study(orthanc, chest_studies(1, size)[0])  # the worker loads the model on its first task: not counted
        rows = []
        for data in chest_studies(studies, size):
            rows.append(one_study(orthanc, data))
            print(json.dumps(rows[-1]), flush=True)
        for name in ("last_byte_to_sr_stored_s", "queued_s", "reading_to_sr_stored_s", "orthanc_send_to_sr_visible_s"):
            print(json.dumps(summary(name, [row[name] for row in rows])), flush=True)
        inference = [row["inference_ms"] / 1000 for row in rows]
        print(json.dumps(summary("inference_s", inference)), flush=True)
    finally:
        worker.stop()
        listener.stop()
        orthanc.stop()


if __name__ == "__main__":
    main()
