"""The embedded broker delivers every message whole while a worker polls the folder it is written to."""

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from kombu import Connection

REPO = Path(__file__).resolve().parent.parent
TRANSPORT = "portal.broker:FilesystemTransport"
MESSAGES = 3000


def test_a_polling_consumer_never_reads_a_half_written_message(tmp_path):
    folder, control = tmp_path / "broker", tmp_path / "control"  # kombu's default control folder is ./control
    folder.mkdir()
    control.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(control),
               "polling_interval": 0}  # fmt: skip
    # A queue name of its own: kombu remembers bindings per transport class, and the portal's "scans"
    # queue, bound in another folder earlier in the run, would keep this one's binding from being written.
    queue_name = f"race-{uuid.uuid4().hex}"
    received, broken = [], []
    declared = threading.Event()

    def consume():
        with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
            queue = connection.SimpleQueue(queue_name)
            declared.set()
            while len(received) + len(broken) < MESSAGES:
                try:
                    message = queue.get(timeout=10)
                except queue.Empty:
                    return
                except ValueError as error:  # what kombu's own transport raises on a half-written file
                    broken.append(error)
                    continue
                received.append(message.payload["number"])
                message.ack()

    consumer = threading.Thread(target=consume)
    consumer.start()
    # Declaring rewrites the exchange table in the control folder, which a publish reads: declare one
    # side at a time, so the race under test is the one on the message files only.
    assert declared.wait(timeout=30)
    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as connection:
        queue = connection.SimpleQueue(queue_name)
        for number in range(MESSAGES):
            queue.put({"number": number, "padding": "x" * 4000})
    consumer.join(timeout=60)

    assert broken == []
    assert sorted(received) == list(range(MESSAGES))
    assert not list(folder.glob("*.part"))


def transport_for(broker_url: str, tmp_path) -> dict:
    """The transport Celery connects with, and its options, when the portal starts with this broker URL:
    asked of a fresh process, so both kinds are checked whatever broker this run itself uses."""
    script = (
        "import json, django; django.setup(); from portal.celery import app\n"
        "with app.connection_for_write() as connection:\n"
        "    transport = type(connection.transport)\n"
        "    print(json.dumps({'module': transport.__module__, 'name': transport.__name__,\n"
        "                      'options': connection.transport_options}))"
    )
    environment = os.environ | {"CELERY_BROKER_URL": broker_url, "PORTAL_VAR_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=environment, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_embedded_set_up_uses_it(tmp_path):
    transport = transport_for("filesystem://", tmp_path)

    assert (transport["module"], transport["name"]) == ("portal.broker", "FilesystemTransport")
    assert transport["options"]["data_folder_in"] == str(tmp_path / "broker")


def test_a_redis_url_uses_redis_with_timeouts_that_never_hold_an_upload(tmp_path):
    transport = transport_for("redis://127.0.0.1:6379/8", tmp_path)

    assert transport["module"] == "kombu.transport.redis"
    assert transport["options"]["socket_connect_timeout"] == 1
    assert transport["options"]["visibility_timeout"] == 900
