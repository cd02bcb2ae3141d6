"""The serving network, as adaptation needs it: its version (from the manifest, without loading the
model) and, where films are read, the model itself."""

from __future__ import annotations

import functools

from django.conf import settings

from scans.model_card import read_manifest


def network_version() -> str:
    """The serving network's version, from its manifest (the web need not load the model to know it)."""
    return read_manifest().get("version", "")


@functools.cache
def serving_predictor():
    """The serving model, loaded once per process: imports read films as the worker reads uploads."""
    from ml.predictor import Predictor

    return Predictor.load(settings.SCAN_MODEL_PATH)
