"""A real worker sizes the model's threads from its own concurrency and the machine's cores."""

import re

import pytest

from inference.worker_model import available_cores
from tests.reliability.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LOADED = re.compile(r"loaded model \S+ from \S+, (\d+) thread\(s\)")


def loaded_thread_counts(worker) -> list[int]:
    """The thread count each pool process logged when it loaded the model, so far."""
    return [int(threads) for threads in LOADED.findall(worker.log_path.read_text(errors="replace"))]


@pytest.mark.parametrize("concurrency", [1, 2])
def test_every_pool_process_loads_the_model_with_its_share_of_the_cores(workers, private_broker, concurrency):
    worker = workers.start(private_broker, concurrency=concurrency)

    wait_for(
        lambda: len(loaded_thread_counts(worker)) == concurrency,
        timeout=60,
        interval=0.2,
        what=f"{concurrency} pool processes to load the model",
    )
    assert loaded_thread_counts(worker) == [max(1, available_cores() // concurrency)] * concurrency
