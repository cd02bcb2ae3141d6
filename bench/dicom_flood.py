"""A modality's store under a connection flood: `.venv/bin/python bench/dicom_flood.py [--tries N]`.

The portal's C-STORE listener runs as `make run` runs it (`manage.py dicom_listener`, its own process,
default limits and timeouts). Each try opens the flood of issue 24 from 127.0.0.1 (50 idle TCP
connections, then 10 idle associations from the site's own AE title DEMO_MODALITY), then times dcmtk's
storescu sending one chest film from DEMO_MODALITY, from its start to its successful exit (a failed
storescu is run again, and the time runs on until one succeeds); then closes the flood, waits 1 s and
times the store again. It prints each try, then p50 and max of both.

`--churn SECONDS` then floods harder for that long: three threads opening and closing connections as
fast as they can and two opening idle ones, while storescu sends every 0.5 s with 2 s to connect, to
associate and for the answer (`-to 2 -ta 2 -td 2`), as the flood test allows; it prints how many
stores succeeded and their p50 and max.

Same settings rules as bench/run.py: a throw-away var folder with SQLite, or DATABASE_URL from the
environment. Figures only, no pass/fail.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench.dicom_roundtrip import chest_studies, start_listener  # noqa: E402
from bench.run import configure_environment  # noqa: E402

MODALITY = "DEMO_MODALITY"
IDLE_CONNECTIONS, IDLE_ASSOCIATIONS = 50, 10
GIVE_UP_SECONDS = 120


def open_flood(port: int) -> tuple[list[socket.socket], list]:
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(IDLE_CONNECTIONS)]
    ae = AE(ae_title=MODALITY)
    ae.acse_timeout = ae.dimse_timeout = 30
    ae.network_timeout = 120  # this side never drops them
    ae.add_requested_context(Verification)
    associations = [ae.associate("127.0.0.1", port, ae_title="PNEUMONIA") for _ in range(IDLE_ASSOCIATIONS)]
    return sockets, associations


def close_flood(sockets, associations) -> None:
    for sock in sockets:
        sock.close()
    for assoc in associations:
        assoc.abort()


def time_to_store(port: int, film: Path) -> tuple[float, int]:
    """Seconds from the first storescu's start to one exiting with success, and how many it took."""
    command = ["storescu", "-aet", MODALITY, "-aec", "PNEUMONIA", "127.0.0.1", str(port), str(film)]
    started = time.perf_counter()
    for attempt in range(1, 1000):
        finished = subprocess.run(command, capture_output=True, timeout=GIVE_UP_SECONDS, stdin=subprocess.DEVNULL)
        if finished.returncode == 0:
            return time.perf_counter() - started, attempt
        if time.perf_counter() - started > GIVE_UP_SECONDS:
            break
    raise RuntimeError(f"no successful store in {GIVE_UP_SECONDS}s: {finished.stderr.decode(errors='replace')}")


def churn(port: int, film: Path, seconds: float) -> dict:
    stop, opened = threading.Event(), []

    def open_and_close():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                opened.append(1)

    def open_and_hold():
        held = []
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held = [*held[-200:], socket.create_connection(("127.0.0.1", port), timeout=2)]
                opened.append(1)
            time.sleep(0.005)

    flood = [threading.Thread(target=open_and_close) for _ in range(3)]
    flood += [threading.Thread(target=open_and_hold) for _ in range(2)]
    for thread in flood:
        thread.start()
    command = ["storescu", "-to", "2", "-ta", "2", "-td", "2", "-aet", MODALITY, "-aec", "PNEUMONIA", "127.0.0.1",
               str(port), str(film)]  # fmt: skip
    stores, failures, deadline = [], [], time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            finished = subprocess.run(command, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            stores.append((finished.returncode == 0, time.perf_counter() - started))
            if finished.returncode:
                failures.append(finished.stderr.decode(errors="replace").strip().splitlines()[-1:])
            time.sleep(0.5)
    finally:
        stop.set()
        for thread in flood:
            thread.join()
    times = [seconds for ok, seconds in stores if ok]
    return {"figure": "store_under_churn", "flood_connections": len(opened), "seconds": seconds,
            "stores": len(stores), "succeeded": len(times), "p50_s": round(statistics.median(times), 3),
            "max_s": round(max(times), 3), "failures": failures}  # fmt: skip


def summary(name: str, values: list[float]) -> dict:
    return {"figure": name, "n": len(values), "p50_s": round(statistics.median(values), 3),
            "max_s": round(max(values), 3)}  # fmt: skip


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tries", type=int, default=10)
    parser.add_argument("--churn", type=float, default=0, help="seconds of connect/close churn after the tries")
    arguments = parser.parse_args(argv)
    tries = arguments.tries
    configure_environment()
    logging.getLogger("pynetdicom").setLevel(logging.WARNING)  # the flood's own associations, 12 lines each
    from hospitals.models import Site, SiteAETitle

    logs = Path(tempfile.mkdtemp(prefix="portal-dicom-flood-"))
    site, _ = Site.objects.get_or_create(name="Bench flood clinic")
    SiteAETitle.objects.update_or_create(ae_title=MODALITY, defaults={"site": site, "host": None})
    films = []
    for index, data in enumerate(chest_studies(2 * tries + 1)):
        films.append(logs / f"film-{index}.dcm")
        films[-1].write_bytes(data)
    listener, port = start_listener(logs)
    under, after = [], []
    try:
        for attempt in range(tries):
            sockets, associations = open_flood(port)
            try:
                established = sum(assoc.is_established for assoc in associations)
                seconds, stores = time_to_store(port, films[2 * attempt])
            finally:
                close_flood(sockets, associations)
            time.sleep(1)
            after_seconds, after_stores = time_to_store(port, films[2 * attempt + 1])
            under.append(seconds)
            after.append(after_seconds)
            row = {"try": attempt + 1, "flood_associations_established": established, "under_flood_s": round(seconds, 3),
                   "storescu_runs": stores, "one_s_after_s": round(after_seconds, 3), "after_runs": after_stores}  # fmt: skip
            print(json.dumps(row), flush=True)
        print(json.dumps(summary("store_under_flood_s", under)), flush=True)
        print(json.dumps(summary("store_1_s_after_flood_s", after)), flush=True)
        if arguments.churn:
            print(json.dumps(churn(port, films[-1], arguments.churn)), flush=True)
    finally:
        listener.stop()
        print(f"listener log: {logs / 'listener.log'}", flush=True)


if __name__ == "__main__":
    main()
