"""A real worker sizes the model's threads from its own concurrency and the machine's cores."""

import re

import pytest

from inference.worker_model import available_cores
from tests.reliability.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]
LOADED = re.compile(r"loaded model \S+ from \S+, (\d+) thread\(s\)")


@pytest.mark.parametrize("concurrency", [1, 2])
def test_every_pool_process_loads_the_model_with_its_share_of_the_cores(workers, private_broker, concurrency):
    worker = workers.start(private_broker, concurrency=concurrency)

    def all_loaded():
        return len(LOADED.findall(worker.log_path.read_text(errors="replace"))) == concurrency

    wait_for(all_loaded, timeout=60, interval=0.2, what=f"{concurrency} pool processes to load the model")
    expected = max(1, available_cores() // concurrency)
    assert [int(threads) for threads in LOADED.findall(worker.log_path.read_text(errors="replace"))] == [
        expected
    ] * concurrency
