"""Logged-in users (BENCH_SESSION cookie) reading one page (BENCH_PATH): bench/run.py starts it.

Each user opens the page again 1 to 2 s after the last answer, as a person reading a list and paging
through it does; without that pause 20 users would be a flood no clinic sends, not 20 people.
"""

import os

from locust import FastHttpUser, between, task


class PageReader(FastHttpUser):
    wait_time = between(1, 2)

    @task
    def read_page(self):
        self.client.get(os.environ["BENCH_PATH"], headers={"Cookie": f"sessionid={os.environ['BENCH_SESSION']}"})
