"""One page (BENCH_PATH) read by logged-in users (BENCH_SESSION cookie) as fast as they can: bench/run.py starts it."""

import os

from locust import FastHttpUser, task


class PageReader(FastHttpUser):
    @task
    def read_page(self):
        self.client.get(os.environ["BENCH_PATH"], headers={"Cookie": f"sessionid={os.environ['BENCH_SESSION']}"})
