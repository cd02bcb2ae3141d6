"""The embedded broker delivers every message whole while a worker polls the folder it is written to."""

import threading
import uuid

from django.conf import settings
from kombu import Connection

from portal.celery import app

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


def test_the_embedded_set_up_uses_it():
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        with app.connection_for_write() as connection:
            assert type(connection.transport).__module__ == "portal.broker"
    else:
        assert settings.CELERY_BROKER_URL.startswith("redis://")
