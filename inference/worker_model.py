"""The serving model, loaded once per worker process.

Prefork children load it in worker_process_init, never the parent before the fork: LiteRT interpreters
and their threads do not survive fork().
"""

from __future__ import annotations

import logging
import os
import threading

from celery.signals import worker_init, worker_process_init
from django.conf import settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_predictor = None
# Pool processes of the worker this process belongs to; 1 outside a worker (tests, management commands).
_pool_processes = 1


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers and taskset narrow)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def model_threads() -> int:
    """Interpreter threads per process: SCAN_MODEL_THREADS, or by default the cores each pool process
    has to itself. One process given both cores reads an X-ray in about half the time; two processes
    with a thread each read two at once, and more threads than that would only fight over the cores."""
    if settings.SCAN_MODEL_THREADS:
        return settings.SCAN_MODEL_THREADS
    return max(1, available_cores() // _pool_processes)


def get_predictor():
    global _predictor
    with _lock:
        if _predictor is None:
            from ml.predictor import Predictor

            threads = model_threads()
            _predictor = Predictor.load(settings.SCAN_MODEL_PATH, num_threads=threads)
            log.info("loaded model %s from %s, %d thread(s)", _predictor.version, _predictor.model_path, threads)
        return _predictor


@worker_init.connect
def remember_pool_size(sender, **kwargs):
    """Runs in the worker's parent before it forks the pool, so the children inherit the figure.
    Concurrency "auto" is resolved later, to one process per core: one thread each."""
    global _pool_processes
    _pool_processes = sender.concurrency if isinstance(sender.concurrency, int) else available_cores()


@worker_process_init.connect
def load_model_in_worker_child(**kwargs):
    get_predictor()
