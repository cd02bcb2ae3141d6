"""Every performance figure of the portal in one run: `.venv/bin/python bench/run.py [--quick]`.

Runs, bounded in time and request count, against the settings in the environment (embedded defaults:
SQLite and the filesystem broker in a throw-away PORTAL_VAR_DIR; or DATABASE_URL and CELERY_BROKER_URL
for PostgreSQL and Redis, which should point at a scratch database and Redis DB):

1. single-image inference, Predictor.predict against the bare minimum (bench/predictor_latency.py);
2. upload to result through gunicorn, the broker and one worker, with where the time goes;
3. throughput on queued scans with 1 and 2 worker processes;
4. RSS of a worker process after inference;
5. history and worklist pages with 100,000 scans and 10,000 waiting cases, 20 concurrent users (locust);
6. a 3000x2500 16-bit PNG and DICOM from upload to result;
7. seconds per training epoch, as recorded in the model's manifest.

Prints JSON lines as it goes and a table at the end. Figures only: nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import requests
from PIL import Image

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench import harness  # noqa: E402


def page_poll_seconds() -> tuple[float, float]:
    """When the scan page's status fragment asks, read from its hx-trigger: once shortly after the
    page loads, then at a fixed interval."""
    template = (REPO_DIR / "scans" / "templates" / "scans" / "detail.html").read_text()
    trigger = re.search(r'hx-trigger="([^"]+)"', template).group(1)

    def seconds(pattern: str) -> float:
        number, unit = re.search(pattern + r"(\d+)(ms|s)", trigger).groups()
        return int(number) / (1000 if unit == "ms" else 1)

    return seconds("load delay:"), seconds("every ")


PAGE_FIRST_POLL_SECONDS, PAGE_POLL_SECONDS = page_poll_seconds()
CLIENT_POLL_SECONDS = 0.02
RESULT_TIMEOUT_SECONDS = 30
figures: list[dict] = []


def emit(section: str, name: str, **values) -> dict:
    row = {"section": section, "figure": name, **values}
    figures.append(row)
    print(json.dumps(row), flush=True)
    return row


def percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


def latency_figures(values_s: list[float]) -> dict:
    return {
        "n": len(values_s),
        "p50_ms": round(statistics.median(values_s) * 1000, 1),
        "p95_ms": round(percentile(values_s, 0.95) * 1000, 1),
    }


# --- Set-up ---------------------------------------------------------------------------------------


def configure_environment() -> Path | None:
    """Settings for this process and every server it starts; a throw-away var folder unless one is given."""
    temporary = None
    if not os.environ.get("PORTAL_VAR_DIR"):
        temporary = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        os.environ["PORTAL_VAR_DIR"] = str(temporary)
    var = Path(os.environ["PORTAL_VAR_DIR"])
    for folder in ("broker", "broker-processed", "broker-control", "media", "static"):
        (var / folder).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["API_USER_RATE"] = "1000000/minute"  # one benchmark client is one API user
    os.environ["SCAN_UPLOADS_PER_HOUR"] = "1000000"  # and uploads hundreds of X-rays in minutes
    os.environ["SCAN_UPLOAD_BYTES_PER_HOUR"] = str(10**12)
    os.environ["ACCOUNT_EMAIL_VERIFICATION"] = "none"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return temporary


def make_patient(label: str):
    from accounts.models import ApiToken
    from tests.factories import UserFactory

    patient = UserFactory(email=f"bench-{label}-{os.getpid()}-{time.time_ns()}@example.com")
    _, key = ApiToken.issue(patient, "benchmark")
    return patient, key


def xray_jpeg() -> bytes:
    from ml.constants import DEFAULT_DATA_DIR

    return (DEFAULT_DATA_DIR / "NORMAL" / "IM-0115-0001.jpeg").read_bytes()


def xray_jpegs() -> list[tuple[str, bytes]]:
    """A normal and a pneumonia X-ray in turn: a strong reading's heatmap costs more to store."""
    from ml.constants import DEFAULT_DATA_DIR

    pneumonia = sorted((DEFAULT_DATA_DIR / "PNEUMONIA").glob("*.jpeg"))[0]
    return [("normal.jpeg", xray_jpeg()), ("pneumonia.jpeg", pneumonia.read_bytes())]


def large_uploads() -> dict[str, bytes]:
    """A real X-ray blown up to 3000x2500 with 16-bit grey levels, as a PNG and as a DICOM."""
    from tests.ml.dicom_files import dicom_bytes

    grey = Image.open(io.BytesIO(xray_jpeg())).convert("F").resize((3000, 2500), Image.Resampling.BICUBIC)
    pixels = np.clip(np.asarray(grey) * 257, 0, 65535).astype(np.uint16)
    png = io.BytesIO()
    Image.fromarray(pixels).save(png, "PNG")
    return {"PNG 3000x2500 16-bit": png.getvalue(), "DICOM 3000x2500 16-bit": dicom_bytes(pixels)}


# --- 1. Single-image inference --------------------------------------------------------------------


def bench_predictor(repeats: int) -> None:
    command = [sys.executable, str(REPO_DIR / "bench" / "predictor_latency.py"), "--repeats", str(repeats)]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=600).stdout
    for line in output.splitlines():
        if line.startswith("{"):
            row = json.loads(line)
            emit("1 inference", row.pop("bench"), **row)


# --- 2 and 6. Upload to result --------------------------------------------------------------------


def upload_and_wait(server, key: str, filename: str, data: bytes) -> dict:
    """Upload through the API, poll it until the reading is there; the scan's own timestamps say the rest."""
    from scans.models import Scan

    headers = {"Authorization": f"Token {key}"}
    started = time.time()
    answer = requests.post(f"{server.url}/api/v1/scans/", headers=headers, files={"image": (filename, data)})
    uploaded = time.time()
    answer.raise_for_status()
    scan_id = answer.json()["id"]
    while time.time() - started < RESULT_TIMEOUT_SECONDS:
        status = requests.get(f"{server.url}/api/v1/scans/{scan_id}/", headers=headers).json()["status"]
        if status not in ("queued", "processing"):
            break
        time.sleep(CLIENT_POLL_SECONDS)
    seen = time.time()
    scan = Scan.objects.get(pk=scan_id)
    prediction = scan.predictions.first()
    finished = scan.finished_at.timestamp()
    # The page's first poll after the result is there: counted from the upload's answer, it polls
    # once at PAGE_FIRST_POLL_SECONDS, then every PAGE_POLL_SECONDS.
    waited = max(finished - uploaded, 0)
    page_learns = uploaded + (
        PAGE_FIRST_POLL_SECONDS
        if waited <= PAGE_FIRST_POLL_SECONDS
        else math.ceil(waited / PAGE_POLL_SECONDS) * PAGE_POLL_SECONDS
    )
    on_page = max(page_learns, finished) - started
    return {
        "status": scan.status,
        "upload": uploaded - started,
        "queue wait": (scan.started_at - scan.queued_at).total_seconds(),
        "inference": prediction.inference_ms / 1000 if prediction else 0.0,
        "worker total": (scan.finished_at - scan.started_at).total_seconds(),
        "result ready (client)": seen - started,
        f"result on page (polls at {PAGE_FIRST_POLL_SECONDS:g} s, then every {PAGE_POLL_SECONDS:g} s)": on_page,
    }


def bench_upload_to_result(section: str, server, key: str, uploads: list[tuple[str, bytes]], count: int) -> None:
    runs = [upload_and_wait(server, key, *uploads[index % len(uploads)]) for index in range(count)]
    statuses = sorted({run["status"] for run in runs})
    for part in runs[0]:
        if part != "status":
            emit(section, part, statuses=statuses, **latency_figures([run[part] for run in runs]))
    db_and_files = [run["worker total"] - run["inference"] for run in runs]
    emit(section, "DB write, heatmap and file read", **latency_figures(db_and_files))


# --- 3 and 4. Throughput and worker memory --------------------------------------------------------


def bench_throughput(var: Path, owner, count: int, concurrency: int) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from patients.models import Patient
    from scans.models import Scan
    from scans.services import ClinicalContext, create_scan
    from scans.validation import validate_upload

    validated = [validate_upload(SimpleUploadedFile(name, data, "image/jpeg")) for name, data in xray_jpegs()]
    context = ClinicalContext(Patient.objects.default_for(owner))
    ids = [create_scan(owner, validated[index % 2], context).pk for index in range(count)]  # queued, no worker yet
    worker = harness.Worker(var / f"worker-throughput-{concurrency}.log", concurrency=concurrency)
    try:
        deadline = time.time() + 120 + count
        pending = Scan.objects.filter(pk__in=ids, status__in=("queued", "processing"))
        while pending.exists() and time.time() < deadline:
            time.sleep(0.5)
        scans = Scan.objects.filter(pk__in=ids).exclude(started_at=None).exclude(finished_at=None)
        first = min(scan.started_at for scan in scans)
        last = max(scan.finished_at for scan in scans)
        done = scans.filter(status="done").count()
        seconds = (last - first).total_seconds()
        emit(
            "3 throughput",
            f"{concurrency} worker process{'es' if concurrency > 1 else ''}",
            scans=count,
            done=done,
            seconds=round(seconds, 2),
            scans_per_s=round(done / seconds, 1),
            batch_size=1,
        )
        for pid in worker.children():
            emit(
                "4 memory",
                f"worker child after {done // concurrency}+ scans ({concurrency} processes)",
                rss_mb=round(harness.rss_mb(pid), 1),
                tensorflow_loaded=harness.loads_tensorflow(pid),
            )
        emit(
            "4 memory", f"worker parent ({concurrency} processes)", rss_mb=round(harness.rss_mb(worker.process.pid), 1)
        )
    finally:
        worker.stop()


def bench_batching(repeats: int = 30) -> None:
    """The model's cost per image when several queued scans share one call (resize_tensor_input)."""
    from ai_edge_litert.interpreter import Interpreter

    from ml.predictor import Predictor

    model_path = str(Predictor.load().model_path)
    image = np.random.default_rng(0).random((1, 224, 224, 1), dtype=np.float32)
    for batch in (1, 4, 8):
        interpreter = Interpreter(model_path=model_path, num_threads=1)
        tensor = interpreter.get_input_details()[0]["index"]
        interpreter.resize_tensor_input(tensor, [batch, 224, 224, 1])
        interpreter.allocate_tensors()
        interpreter.set_tensor(tensor, np.repeat(image, batch, axis=0))
        interpreter.invoke()
        started = time.perf_counter()
        for _ in range(repeats):
            interpreter.invoke()
        per_image = (time.perf_counter() - started) / repeats / batch * 1000
        emit("3 throughput", f"model call, batch of {batch}", ms_per_image=round(per_image, 2))


# --- 5. Pages -------------------------------------------------------------------------------------


PAGES = ("history", "worklist")
PAGE_SCANS = 100_000  # in all, over PAGE_PATIENTS patients
PAGE_PATIENTS = 100
WAITING_EVERY = 10  # every tenth scan waits for a radiologist: 10,000 cases
SEED_BATCH = 5_000


def seed_pages(scans: int):
    """`scans` finished scans over PAGE_PATIENTS patients, every WAITING_EVERY-th flagged and waiting for
    review (a case opened as the worker opens it, in bulk); a radiologist to read them. The history is
    measured for the first patient, the worklist for the radiologist."""
    from django.core.files.storage import default_storage
    from django.test import Client
    from django.utils import timezone

    from patients.models import Patient
    from reviews.models import ReviewCase, due_at
    from scans.models import Prediction, Scan
    from tests.factories import RadiologistFactory, grey_png

    accounts = [make_patient(f"pages-{index}")[0] for index in range(PAGE_PATIENTS)]
    patients = [Patient.objects.default_for(account) for account in accounts]
    radiologist = RadiologistFactory(email=f"bench-radiologist-{os.getpid()}-{time.time_ns()}@example.com")
    png = grey_png()
    image_name = default_storage.save("bench/scan.png", io.BytesIO(png))
    start = timezone.now() - timedelta(days=30)
    for first in range(0, scans, SEED_BATCH):
        numbers = range(first, min(first + SEED_BATCH, scans))
        # Spread over a month, so waiting times (and the worklist's order) differ.
        when = {number: start + timedelta(seconds=26 * number) for number in numbers}
        created = Scan.objects.bulk_create(
            Scan(
                owner=accounts[number % PAGE_PATIENTS], patient=patients[number % PAGE_PATIENTS], age_at_scan_months=36,
                status=Scan.Status.DONE, image=image_name,
                original_filename=f"chest-{number}.jpeg", source_format="JPEG", width=64, height=64,
                size_bytes=len(png), sha256="0" * 64, created_at=when[number], queued_at=when[number],
                started_at=when[number], finished_at=when[number],
            )
            for number in numbers
        )  # fmt: skip
        readings = Prediction.objects.bulk_create(
            Prediction(
                scan=scan, model_version="bench", probability=(number % 97) / 100 if _waits(number) else 0.05,
                label="pneumonia" if _waits(number) else "normal", needs_review=_waits(number),
                indeterminate=False, inference_ms=10, queue_ms=10, created_at=when[number],
            )
            for number, scan in zip(numbers, created, strict=True)
        )  # fmt: skip
        ReviewCase.objects.bulk_create(
            ReviewCase(
                scan=reading.scan, reason=ReviewCase.Reason.PNEUMONIA, prediction=reading,
                waiting_since=when[number], due_at=due_at(when[number], reading.probability), opened_at=when[number],
            )
            for number, reading in zip(numbers, readings, strict=True)
            if _waits(number)
        )  # fmt: skip
    sessions = {}
    for user in (accounts[0], radiologist):
        client = Client()
        client.force_login(user)
        sessions[user.role] = (user, client.cookies["sessionid"].value)
    return sessions


def _waits(number: int) -> bool:
    return number % WAITING_EVERY == 0


def bench_pages(var: Path, server, sessions: dict, users: int, seconds: int, names=PAGES, label: str = "") -> None:
    """These pages under `users` page readers; the worklist figure names how many cases wait."""
    from reviews.worklist import worklist
    from scans.models import Scan

    refresh_planner_statistics()
    waiting = worklist(sessions["radiologist"][0]).counts["total"]
    own = Scan.objects.filter(owner=sessions["patient"][0]).count()
    pages = {
        "history": ("/scans/", "patient", f"{own:,} of the patient's {Scan.objects.count():,} scans"),
        "worklist": ("/reviews/", "radiologist", f"{waiting:,} cases waiting"),
    }
    for name in names:
        path, role, detail = pages[name]
        summary = load_page(var, server, path, sessions[role][1], users, seconds, name)
        emit(
            "5 pages",
            f"{name}{label} ({detail}, {users} users)",
            requests=int(summary["Request Count"]),
            failures=int(summary["Failure Count"]),
            p50_ms=float(summary["50%"]),
            p95_ms=float(summary["95%"]),
            requests_per_s=round(float(summary["Requests/s"]), 1),
        )


def refresh_planner_statistics() -> None:
    """PostgreSQL's autovacuum analyses a table within a minute of this many new rows; the bench measures
    seconds after making them, so it analyses first. Without it the planner takes the tables for empty
    and sorts every one of the patient's scans instead of reading the history's index."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def load_page(var: Path, server, path: str, session: str, users: int, seconds: int, name: str) -> dict:
    """locust's summary row for `users` readers of one page, from a warm server."""
    prefix = var / f"locust-{name}-{time.time_ns()}"
    warm_up(server, path, session)
    environment = {**os.environ, "BENCH_PATH": path, "BENCH_SESSION": session}
    command = [
        sys.executable, "-m", "locust", "-f", str(REPO_DIR / "bench" / "locustfile.py"), "--headless",
        "--host", server.url, "--users", str(users), "--spawn-rate", "10", "--run-time", f"{seconds}s",
        # Figures for all users at work, not for the first seconds while they arrive and gunicorn warms up.
        "--reset-stats", "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    subprocess.run(command, env=environment, capture_output=True, timeout=seconds + 60, check=False)
    return next(row for row in _csv_rows(f"{prefix}_stats.csv") if row["Name"] == "Aggregated")


def warm_up(server, path: str, session: str, requests_each: int = 4) -> None:
    """Have every gunicorn worker render the page a few times first: the figures are for a server in
    use, not for each worker's first render of the templates and first database connection."""
    from concurrent.futures import ThreadPoolExecutor

    def read(_) -> None:
        requests.get(server.url + path, cookies={"sessionid": session}, timeout=30).raise_for_status()

    with ThreadPoolExecutor(max_workers=server.workers * 2) as pool:
        list(pool.map(read, range(server.workers * requests_each)))


def _csv_rows(path: str) -> list[dict]:
    import csv

    with open(path, newline="") as stats:
        return list(csv.DictReader(stats))


# --- 7. Training ----------------------------------------------------------------------------------


def bench_training() -> None:
    from ml.constants import ARTIFACTS_DIR, MANIFEST_NAME

    manifest = json.loads((ARTIFACTS_DIR / MANIFEST_NAME).read_text())
    for run in manifest.get("training", []):
        emit(
            "7 training",
            f"seed {run['seed']}",
            seconds_per_epoch=run["seconds_per_epoch"],
            epochs=run["epochs"],
            batch_size=run["batch_size"],
        )


# --- Report ---------------------------------------------------------------------------------------


def print_table() -> None:
    from django.conf import settings

    database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    broker = settings.CELERY_BROKER_URL.split("://")[0]
    print(f"\n{database} + {broker} broker, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{'section':<13} {'figure':<52} values")
    for row in figures:
        values = {key: value for key, value in row.items() if key not in ("section", "figure")}
        text = "  ".join(f"{key}={value}" for key, value in values.items())
        print(f"{row['section']:<13} {row['figure']:<52} {text}")


SECTIONS = ("predictor", "upload", "throughput", "pages", "training")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke test of the benchmark itself")
    parser.add_argument(
        "--only", choices=SECTIONS, action="append", help="run just this part (repeatable); 'upload' includes 6"
    )
    args = parser.parse_args(argv)
    wanted = set(args.only or SECTIONS)
    uploads, queued, large, pages_seconds = (20, 40, 2, 8) if args.quick else (200, 400, 10, 30)
    temporary = configure_environment()
    var = Path(os.environ["PORTAL_VAR_DIR"])
    server = None
    try:
        if "predictor" in wanted:
            bench_predictor(50 if args.quick else 300)
        server = harness.WebServer(var / "gunicorn.log")
        patient, key = make_patient("uploads")
        sessions = None
        if "pages" in wanted:  # first, so the worklist holds the seeded cases only
            sessions = seed_pages(PAGE_SCANS)
            bench_pages(var, server, sessions, users=20, seconds=pages_seconds)
        if "upload" in wanted:
            bench_uploads(var, server, key, uploads, large)
        if "throughput" in wanted:
            for concurrency in (1, 2):
                bench_throughput(var, patient, queued, concurrency)
            bench_batching()
        if sessions and {"upload", "throughput"} & wanted:  # every scan the bench made now waits too
            bench_pages(var, server, sessions, 20, pages_seconds, names=["worklist"], label=" with a backlog")
        if "training" in wanted:
            bench_training()
    finally:
        if server:
            server.stop()
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)
    print_table()


def bench_uploads(var: Path, server, key: str, uploads: int, large: int) -> None:
    worker = harness.Worker(var / "worker.log")
    try:
        jpeg = xray_jpegs()
        upload_and_wait(server, key, *jpeg[0])  # warm: the first task loads what it imports lazily
        bench_upload_to_result("2 upload", server, key, jpeg, uploads)
        for name, data in large_uploads().items():
            bench_upload_to_result(f"6 {name.split()[0]}", server, key, [(name, data)], large)
    finally:
        worker.stop()


if __name__ == "__main__":
    main()
