"""Locust: readers of the query API (results and the first page of the audit log).

    uv run locust -f loadtest/query_locustfile.py --headless -u 50 -r 50 -t 60s \\
        --host http://127.0.0.1:8000 --csv bench/results/queries
"""

from __future__ import annotations

from locust import HttpUser, between, task


class Reader(HttpUser):
    wait_time = between(0.05, 0.2)

    @task(3)
    def results(self) -> None:
        self.client.get("/api/v1/results", name="/api/v1/results")

    @task(2)
    def votes(self) -> None:
        self.client.get("/api/v1/votes?limit=50", name="/api/v1/votes?limit=50")
