"""The STOW-RS example of docs/hospitals.md, the hospital guide the README links, works as written: its
shell block, run with the token seed_demo printed (and the test server's address for the default one),
stores the demo hospital's study with curl and with dicomweb-client."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

from django.core.management import call_command

from scans.models import Scan
from tests.api_helpers import fresh_throttles  # noqa: F401
from tests.factories import private_media  # noqa: F401
from tests.hospitals.studies import chest_radiograph, identifiers

REPO = Path(__file__).resolve().parents[2]
SETTINGS_LINE = "export SITE_TOKEN='the token seed_demo printed' PORTAL=http://127.0.0.1:8000\n"


def guide_stow_block() -> str:
    guide = (REPO / "docs" / "hospitals.md").read_text()
    start = guide.index("```sh\n" + SETTINGS_LINE)
    return guide[start + len("```sh\n") : guide.index("\n```\n", start) + 1]


def test_the_guides_stow_example_stores_a_study_with_the_token_seed_demo_printed(live_server, tmp_path, chest_pixels):
    printed = io.StringIO()
    call_command("seed_demo", password="a-long-demo-password-42", stdout=printed)
    token = re.search(r"pacs@demo-hospital\.example stores by STOW-RS with token (\S+)", printed.getvalue())[1]
    script = guide_stow_block().replace(SETTINGS_LINE, f"export SITE_TOKEN='{token}' PORTAL={live_server.url}\n")
    sent = chest_radiograph(chest_pixels)
    (tmp_path / "chest.dcm").write_bytes(sent)
    (tmp_path / ".venv").symlink_to(REPO / ".venv")

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )

    assert run.returncode == 0, run.stderr
    by_curl, end = json.JSONDecoder().raw_decode(run.stdout)
    uid = identifiers(sent)["SOPInstanceUID"]
    assert by_curl["00081199"]["Value"][0]["00081155"]["Value"] == [uid]
    assert "Referenced SOP Instance UID" in run.stdout[end:] and uid in run.stdout[end:]
    assert Scan.objects.filter(site__name="Demo hospital").count() == 1
