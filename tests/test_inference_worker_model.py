"""How many threads the model gets in each worker process."""

from types import SimpleNamespace

import pytest

from inference import worker_model
from tests.test_deployment import production_environment, run_python


@pytest.fixture
def pool_size(monkeypatch):
    """Run the worker_init hook as a worker of the given concurrency would, and undo it afterwards."""
    monkeypatch.setattr(worker_model, "_pool_processes", worker_model._pool_processes)

    def size(concurrency):
        worker_model.remember_pool_size(sender=SimpleNamespace(concurrency=concurrency))

    return size


@pytest.mark.parametrize(("cores", "concurrency", "threads"), [(2, 1, 2), (2, 2, 1), (8, 2, 4), (2, 3, 1), (1, 1, 1)])
def test_each_pool_process_runs_the_model_on_the_cores_it_has_to_itself(
    monkeypatch, settings, pool_size, cores, concurrency, threads
):
    settings.SCAN_MODEL_THREADS = 0
    monkeypatch.setattr(worker_model, "available_cores", lambda: cores)
    pool_size(concurrency)
    assert worker_model.model_threads() == threads


def test_automatic_concurrency_means_one_process_and_one_thread_per_core(settings, pool_size):
    settings.SCAN_MODEL_THREADS = 0
    pool_size("auto")
    assert worker_model.model_threads() == 1


def test_outside_a_worker_the_model_may_use_every_core(settings):
    settings.SCAN_MODEL_THREADS = 0
    assert worker_model.model_threads() == worker_model.available_cores()


def test_a_configured_thread_count_wins(settings, pool_size):
    settings.SCAN_MODEL_THREADS = 3
    pool_size(2)
    assert worker_model.model_threads() == 3


@pytest.mark.processes
def test_a_negative_thread_count_stops_the_portal_with_a_clear_error():
    result = run_python(
        "-c", "import django; django.setup()", environment=production_environment(SCAN_MODEL_THREADS="-1")
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SCAN_MODEL_THREADS" in result.stderr
