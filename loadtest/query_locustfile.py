"""Locust: readers of the query API (live results, the log's first page, and browsing the
log by band page after page).

    uv run locust -f loadtest/query_locustfile.py --headless -u 50 -r 50 -t 90s \\
        --host http://127.0.0.1:8000 --csv test-artifacts/queries
"""

from __future__ import annotations

import random

from locust import HttpUser, between, task

BANDS = ["Bohemia Suburbana", "Alux Nahual", "Viernes Verde", "Easy Easy", "Malacates Trébol Shop"]


class Reader(HttpUser):
    wait_time = between(0.05, 0.2)

    @task(3)
    def results(self) -> None:
        self.client.get("/api/v1/results", name="/api/v1/results")

    @task(2)
    def votes(self) -> None:
        self.client.get("/api/v1/votes?limit=50", name="/api/v1/votes?limit=50")

    @task(1)
    def browse_band(self) -> None:
        """A band's votes, then the next two pages by cursor (not shared with others)."""
        params: dict[str, str | int] = {"band": random.choice(BANDS), "limit": 50}
        for name in ("band page 1", "band page 2", "band page 3"):
            with self.client.get(
                "/api/v1/votes",
                params=params,
                name=f"/api/v1/votes?band=…&limit=50 ({name})",
                catch_response=True,
            ) as response:
                cursor = response.json().get("next_cursor") if response.ok else None
            if not cursor:
                return
            params = {**params, "cursor": cursor}
