"""dcmtk's command-line tools, as a modality's software or an engineer at a site runs them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests import tiers


def storescu(
    files: list[Path], port: int, *, calling: str, called: str = "PNEUMONIA", host: str = "127.0.0.1", options=()
):
    """`storescu -v` sending the files in one association; the finished process (output in .stdout).
    A compressed file needs its syntax proposed: options=["-xs"] (JPEG lossless), "-xt" (JPEG-LS), "-xr" (RLE)."""
    tiers.requires("pacs", "dcmtk's storescu")
    command = ["storescu", "-v", *options, "-aet", calling, "-aec", called, host, str(port), *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def echoscu(port: int, *, calling: str, called: str = "PNEUMONIA", host: str = "127.0.0.1"):
    tiers.requires("pacs", "dcmtk's echoscu")
    command = ["echoscu", "-v", "-aet", calling, "-aec", called, host, str(port)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def compress(source: Path, target: Path, *, tool: str = "dcmcjpeg") -> Path:
    """Compress as a modality would before sending: dcmcjpeg's default is JPEG Lossless SV1, dcmcjpls's
    JPEG-LS lossless, dcmcrle's RLE."""
    tiers.requires("pacs", f"dcmtk's {tool}")
    subprocess.run([tool, str(source), str(target)], check=True, capture_output=True, timeout=120)
    return target
