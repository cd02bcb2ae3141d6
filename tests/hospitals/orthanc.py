"""A real Orthanc (Debian's orthanc package) on private ports, driven through its REST API: the PACS the
hospital tests send studies from and deliver results to.

    orthanc = Orthanc(tmp_path).start()
    instance_id = orthanc.upload(part10_bytes)
    orthanc.add_modality("portal", "PNEUMONIA", "127.0.0.1", listener_port)
    orthanc.send_to_portal([instance_id])
    orthanc.stop()

It sends with its own AE title (`ae_title`) as the calling AE title, and stores whatever any AE sends to
`dicom_port`, whatever AE title it is called by.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests import tiers

ORTHANC = os.environ.get("ORTHANC", "/usr/sbin/Orthanc")
HOST = "127.0.0.1"
READY_TIMEOUT_SECONDS = 60  # two busy cores
LOG_TAIL_CHARS = 8_000


class OrthancError(Exception):
    """Orthanc answered a REST call with an HTTP error; the message carries its explanation."""

    def __init__(self, status: int, body: str):
        super().__init__(f"Orthanc answered {status}: {body[:2000]}")
        self.status, self.body = status, body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Orthanc:
    def __init__(self, folder: Path, *, ae_title: str = "ORTHANC_TEST", executable: str = ORTHANC):
        self.folder, self.ae_title, self.executable = Path(folder), ae_title, executable
        self.host = HOST
        self.http_port, self.dicom_port = free_port(), free_port()
        self.log_path = self.folder / "orthanc.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.http_port}"

    def configuration(self) -> dict:
        return {
            "Name": "portal-tests",
            "StorageDirectory": str(self.folder / "storage"),
            "IndexDirectory": str(self.folder / "index"),
            "HttpPort": self.http_port,
            "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False,
            "DicomServerEnabled": True,
            "DicomAet": self.ae_title,
            "DicomPort": self.dicom_port,
            # The portal sends results back under its own AE title, to whatever title it was configured with.
            "DicomCheckCalledAet": False,
            "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowEcho": True,
            "DicomCheckModalityHost": False,
            # Each send opens its own association: one kept open would outlive a test's listener.
            "DicomAssociationCloseDelay": 0,
            "DicomScuTimeout": 30,
            "DicomModalities": {},
            "OverwriteInstances": True,
            "SaveJobs": False,
            "StorageCompression": False,
            "Plugins": [],
        }

    def start(self) -> Orthanc:
        tiers.requires("pacs", "Orthanc")
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "orthanc.json"
        config.write_text(json.dumps(self.configuration(), indent=2))
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.executable, str(config)], cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                self.get("/system")
                return
            time.sleep(0.2)
        raise RuntimeError(f"Orthanc did not answer in {READY_TIMEOUT_SECONDS}s:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def log_tail(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-LOG_TAIL_CHARS:]

    # --- REST ------------------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: bytes | dict | list | None = None) -> bytes:
        """One REST call; a dict or list body is sent as JSON. HTTP errors raise OrthancError."""
        headers = {}
        if isinstance(body, dict | list):
            body, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
        request = urllib.request.Request(f"{self.url}{path}", data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            raise OrthancError(error.code, error.read().decode(errors="replace")) from error

    def get(self, path: str):
        return json.loads(self.request("GET", path))

    def post(self, path: str, body: bytes | dict | list):
        return json.loads(self.request("POST", path, body) or b"null")

    def upload(self, data: bytes) -> str:
        """Store a Part 10 file, as a modality would have sent it; its Orthanc instance id."""
        return self.post("/instances", data)["ID"]

    def instances(self) -> list[str]:
        return self.get("/instances")

    def find_instances(self, **tags: str) -> list[str]:
        """Instances whose DICOM attributes (by keyword, e.g. AccessionNumber="A1") match; wildcards allowed."""
        return self.post("/tools/find", {"Level": "Instance", "Query": tags})

    def instance_tags(self, instance_id: str) -> dict:
        """The instance's attributes by keyword (Orthanc's simplified tags: {"PatientName": "Doe^Jane", ...})."""
        return self.get(f"/instances/{instance_id}/simplified-tags")

    def file(self, instance_id: str) -> bytes:
        return self.request("GET", f"/instances/{instance_id}/file")

    def add_modality(self, name: str, ae_title: str, host: str, port: int) -> None:
        """Define (or redefine) a DICOM peer Orthanc can send to."""
        self.request("PUT", f"/modalities/{name}", {"AET": ae_title, "Host": host, "Port": port})

    def send_to_portal(self, instance_ids: list[str], modality: str = "portal") -> dict:
        """C-STORE the instances to the modality, waiting for the answer; a failure status raises OrthancError."""
        return self.post(f"/modalities/{modality}/store", {"Resources": list(instance_ids), "Synchronous": True})

    def echo(self, modality: str = "portal") -> bool:
        try:
            self.post(f"/modalities/{modality}/echo", {})
        except OrthancError:
            return False
        return True

    def clear(self) -> None:
        """Delete every stored study, so a test starts with an empty PACS."""
        for patient in self.get("/patients"):
            self.request("DELETE", f"/patients/{patient}")
