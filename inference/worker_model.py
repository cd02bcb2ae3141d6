"""The serving model, loaded once per worker process.

Prefork children load it in worker_process_init, never the parent before the fork: LiteRT interpreters
and their threads do not survive fork().
"""

from __future__ import annotations

import logging
import threading

from celery.signals import worker_process_init
from django.conf import settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_predictor = None


def get_predictor():
    global _predictor
    with _lock:
        if _predictor is None:
            from ml.predictor import Predictor

            _predictor = Predictor.load(settings.SCAN_MODEL_PATH)
            log.info("loaded model %s from %s", _predictor.version, _predictor.model_path)
        return _predictor


@worker_process_init.connect
def load_model_in_worker_child(**kwargs):
    get_predictor()
