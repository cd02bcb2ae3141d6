"""How long a web process is held by a file download: `.venv/bin/python bench/private_files.py [--requests N]`.

Two gunicorn servers run side by side in one run, each with one sync worker (the Dockerfile's kind), on
the same rows: one with local storage, which streams the file; one with an S3 bucket (moto's server, in
a process of its own on a loopback port), which answers with a redirect to a signed link. For a 5 MB
DICOM and a 150 KB PNG it prints p50 / p95 of:

- held: how long the worker was busy with the request, from gunicorn's access log (its request time
  ends when the last byte has been written to the socket);
- to bytes: how long the client took to hold the whole file, following the redirect to the bucket;

then the same for the DICOM read by a client at 2 MB/s (a patient on a slow line), where a streamed
file holds the worker until the kernel's socket buffers can take the rest: once with loopback's own
buffers (megabytes), once with 64 KB buffers at both ends (bench/gunicorn_small_buffers.py), nearer a
real slow path, where they stay near the path's bandwidth-delay product; and where the
redirect's time goes (the HEAD request that checks the file exists, and the signing). Prints JSON lines,
then a table. Figures only: nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests
from urllib3.connection import HTTPConnection

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench import harness  # noqa: E402

DICOM_BYTES = 5 * 1024 * 1024
PNG_SIDE = 220  # random RGB pixels do not compress: about 150 KB
SLOW_CLIENT_BYTES_PER_SECOND = 2 * 1024 * 1024
SLOW_CLIENT_REQUESTS = 3
SLOW_CLIENT_RECEIVE_BUFFER = 64 * 1024  # with bench/gunicorn_small_buffers.py's send buffer
BUCKET, REGION, ACCESS_KEY, SECRET_KEY = "bench-scans", "us-east-1", "bench", "bench-secret"
ACCESS_LOG_FORMAT = "%(U)s %(s)s %(D)s"  # path, status, microseconds
figures: list[dict] = []


def emit(figure: str, **values) -> None:
    row = {"figure": figure, **values}
    figures.append(row)
    print(json.dumps(row), flush=True)


def percentiles_ms(seconds: list[float]) -> dict:
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered) * 1000, 2), "p95_ms": round(p95 * 1000, 2)}


# --- Servers --------------------------------------------------------------------------------------


def answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


class FileServer(harness.Process):
    """gunicorn with one sync worker, logging each request's time, with these settings in its environment."""

    def __init__(self, var: Path, name: str, environment: dict[str, str], small_buffers: bool = False):
        self.port = harness.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.access_log = var / f"{name}-access.log"
        command = [
            sys.executable, "-m", "gunicorn", "portal.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
            "--workers", "1", "--access-logfile", str(self.access_log), "--access-logformat", ACCESS_LOG_FORMAT,
        ]  # fmt: skip
        if small_buffers:
            command += ["--config", "python:bench.gunicorn_small_buffers"]
        with environment_set(environment):  # the child inherits this process's environment
            super().__init__(command, var / f"{name}.log")
        self.wait_for(lambda: answers(self.port), f"gunicorn ({name})")

    def request_seconds_since(self, line_count: int) -> list[float]:
        lines = self.access_log.read_text().splitlines()[line_count:]
        return [int(line.split()[2]) / 1e6 for line in lines]

    def logged_lines(self) -> int:
        return len(self.access_log.read_text().splitlines()) if self.access_log.exists() else 0


@contextlib.contextmanager
def environment_set(values: dict[str, str]):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_bucket(var: Path) -> tuple[harness.Process, dict[str, str]]:
    """moto's S3 server, and the portal settings that store files in a bucket on it."""
    port = harness.free_port()
    server = harness.Process([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], var / "s3.log")
    server.wait_for(lambda: answers(port), "moto's S3 server")
    settings = {
        "AWS_STORAGE_BUCKET_NAME": BUCKET,
        "AWS_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        # Another name for the same server, as docker-compose's http://localhost:9000 is for http://minio:9000.
        "AWS_S3_PUBLIC_ENDPOINT_URL": f"http://localhost:{port}",
        "AWS_S3_REGION_NAME": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }
    return server, settings


# --- Set-up ---------------------------------------------------------------------------------------


def configure_environment() -> Path:
    var = Path(tempfile.mkdtemp(prefix="portal-bench-files-"))
    os.environ["PORTAL_VAR_DIR"] = str(var)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    for key in ("AWS_STORAGE_BUCKET_NAME", "AWS_S3_ENDPOINT_URL", "AWS_S3_PUBLIC_ENDPOINT_URL"):
        os.environ.pop(key, None)  # this process and the streaming server use local storage
    (var / "media").mkdir(parents=True)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return var


def stored_files() -> dict[str, bytes]:
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(0).integers(0, 256, (PNG_SIDE, PNG_SIDE, 3), dtype=np.uint8)
    png = io.BytesIO()
    Image.fromarray(pixels, mode="RGB").save(png, "PNG")
    dicom = bytes(128) + b"DICM" + os.urandom(DICOM_BYTES - 132)
    return {"png": png.getvalue(), "dicom": dicom}


def seed(files: dict[str, bytes], s3_settings: dict[str, str]) -> tuple[str, dict[str, str]]:
    """A patient's session and one scan with both files, stored locally and, under the same names, in the bucket."""
    import boto3
    import factory
    from django.test import Client
    from django.urls import reverse

    from tests.factories import ScanFactory

    scan = ScanFactory(
        dicom=True,
        image=factory.django.FileField(filename="scan.png", data=files["png"]),
        dicom_file=factory.django.FileField(filename="scan.dcm", data=files["dicom"]),
    )
    bucket = boto3.client(
        "s3", endpoint_url=s3_settings["AWS_S3_ENDPOINT_URL"], region_name=REGION,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip
    bucket.create_bucket(Bucket=BUCKET)
    for field_file, data in ((scan.image, files["png"]), (scan.dicom_file, files["dicom"])):
        bucket.put_object(Bucket=BUCKET, Key=field_file.name, Body=data)
    client = Client()
    client.force_login(scan.owner)
    paths = {"png": reverse("scans:image", args=[scan.pk]), "dicom": reverse("scans:dicom", args=[scan.pk])}
    return client.cookies["sessionid"].value, paths


# --- Measurements ---------------------------------------------------------------------------------


def download(session: requests.Session, url: str, expected: int, bytes_per_second: float | None = None) -> float:
    started = time.perf_counter()
    with session.get(url, stream=True, timeout=60) as response:
        response.raise_for_status()
        received = 0
        for chunk in response.iter_content(64 * 1024):
            received += len(chunk)
            if bytes_per_second:  # hold the pace of a slow line
                time.sleep(max(0.0, started + received / bytes_per_second - time.perf_counter()))
    assert received == expected, f"{url}: {received} of {expected} bytes"
    return time.perf_counter() - started


class SmallReceiveBuffer(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        small = (socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_CLIENT_RECEIVE_BUFFER)
        kwargs["socket_options"] = [*HTTPConnection.default_socket_options, small]
        super().init_poolmanager(*args, **kwargs)


def bench_downloads(
    server: FileServer, mode: str, session_id: str, path: str, size: int, count: int, rate=None, small_buffer=False
) -> dict:
    session = requests.Session()
    if small_buffer:
        session.mount("http://", SmallReceiveBuffer())
    session.cookies.set("sessionid", session_id, domain="127.0.0.1")
    for _ in range(3):  # warm: imports, connections
        download(session, server.url + path, size)
    logged = server.logged_lines()
    to_bytes = [download(session, server.url + path, size, rate) for _ in range(count)]
    time.sleep(0.2)  # the access log line is written after the response
    held = server.request_seconds_since(logged)
    return {"mode": mode, "held": percentiles_ms(held), "to_bytes": percentiles_ms(to_bytes)}


def bench_redirect_parts(s3_settings: dict[str, str], name: str, count: int) -> None:
    """The two things the portal does for a redirect, timed in this process against the same bucket."""
    from portal.settings.base import s3_storage
    from portal.storage import PrivateS3Storage

    endpoint, public_endpoint = s3_settings["AWS_S3_ENDPOINT_URL"], s3_settings["AWS_S3_PUBLIC_ENDPOINT_URL"]
    options = s3_storage(BUCKET, endpoint, public_endpoint, REGION)["OPTIONS"]
    storage = PrivateS3Storage(**options, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    storage.exists(name), storage.signed_download_url(name, {"Content-Type": "application/dicom"}, 60)  # warm
    for what, call in (
        ("HEAD request (storage.exists)", lambda: storage.exists(name)),
        ("signing the link", lambda: storage.signed_download_url(name, {"Content-Type": "application/dicom"}, 60)),
    ):
        samples = []
        for _ in range(count):
            started = time.perf_counter()
            call()
            samples.append(time.perf_counter() - started)
        emit(f"redirect part: {what}", **percentiles_ms(samples))


def print_table() -> None:
    print(f"\n{os.cpu_count()} cores, {time.strftime('%Y-%m-%d %H:%M')}; p50 / p95 in ms")
    print(f"{'figure':<58} {'mode':<20} {'held by the worker':>20} {'client has the bytes':>22}")
    for row in figures:
        if "held" in row:
            held, to_bytes = row["held"], row["to_bytes"]
            print(
                f"{row['figure']:<58} {row['mode']:<20} {held['p50_ms']:>9} / {held['p95_ms']:<9}"
                f" {to_bytes['p50_ms']:>10} / {to_bytes['p95_ms']:<9}"
            )
        else:
            print(f"{row['figure']:<58} {'':<20} {row['p50_ms']:>9} / {row['p95_ms']:<9}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50, help="per file and mode (default 50)")
    args = parser.parse_args(argv)
    var = configure_environment()
    processes = []
    try:
        bucket, s3_settings = start_bucket(var)
        processes.append(bucket)
        files = stored_files()
        session_id, paths = seed(files, s3_settings)
        streaming = FileServer(var, "local", {})
        processes.append(streaming)
        redirecting = FileServer(var, "s3", s3_settings)
        processes.append(redirecting)
        streaming_small = FileServer(var, "local-small-buffers", {}, small_buffers=True)
        processes.append(streaming_small)
        for kind, label in (("dicom", "5 MB DICOM"), ("png", "150 KB PNG")):
            size = len(files[kind])
            for server, mode in ((streaming, "local: streamed"), (redirecting, "S3: signed redirect")):
                result = bench_downloads(server, mode, session_id, paths[kind], size, args.requests)
                emit(f"{label} ({size} bytes)", **result)
        slow = f"5 MB DICOM, client at {SLOW_CLIENT_BYTES_PER_SECOND // 1024 // 1024} MB/s"
        size = len(files["dicom"])
        for small_buffer, streamer, buffers in (
            (False, streaming, "loopback buffers"),
            (True, streaming_small, "64 KB socket buffers"),
        ):
            for server, mode in ((streamer, "local: streamed"), (redirecting, "S3: signed redirect")):
                result = bench_downloads(
                    server, mode, session_id, paths["dicom"], size, SLOW_CLIENT_REQUESTS,
                    SLOW_CLIENT_BYTES_PER_SECOND, small_buffer,
                )  # fmt: skip
                emit(f"{slow}, {buffers}", **result)
        from scans.models import Scan

        bench_redirect_parts(s3_settings, Scan.objects.get().dicom_file.name, args.requests)
    finally:
        for process in reversed(processes):
            process.stop()
        shutil.rmtree(var, ignore_errors=True)
    print_table()


if __name__ == "__main__":
    main()
