"""The contests the query service knows: the catalog's, the default one, and every contest
that has votes (a deployment without a catalog accepts any contest id)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from domain.catalog import Catalog, Contest
from queries.views import ContestList, ContestView


def contest_list(
    catalog: Catalog | None, default: str, totals: Mapping[str, int], now: datetime
) -> ContestList:
    """Every known contest, the default first, then the catalog's order, then the others
    by id. A contest outside the catalog has no window: it is open."""
    known = dict(catalog.by_slug()) if catalog is not None else {}
    order = [default, *known, *sorted(totals)]
    views: dict[str, ContestView] = {}
    for slug in order:
        if slug in views:
            continue
        entry = known.get(slug, Contest(slug=slug))
        views[slug] = ContestView(
            id=slug,
            title=entry.title or slug,
            opens_at=entry.opens_at,
            closes_at=entry.closes_at,
            status=entry.status(now),
            total=totals.get(slug, 0),
        )
    return ContestList(default=default, contests=list(views.values()))


class Contests:
    """Looks contests up for the controllers (statuses at the time of asking)."""

    def __init__(
        self,
        catalog: Catalog | None,
        default: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.catalog = catalog
        self.default = default
        self._known = dict(catalog.by_slug()) if catalog is not None else {}
        self._clock = clock

    def listing(self, totals: Mapping[str, int]) -> ContestList:
        return contest_list(self.catalog, self.default, totals, self._clock())

    def status(self, contest: str) -> str:
        return self._known.get(contest, Contest(slug=contest)).status(self._clock())

    def is_known(self, contest: str, with_votes: Mapping[str, int]) -> bool:
        return contest == self.default or contest in self._known or contest in with_votes
