"""The query side's contests: the list (default first, catalog order, then contests that
only have votes), each one's status now, and the audit log's contest filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.catalog import Catalog, Contest
from queries.contests import Contests, contest_list
from queries.votes import VoteFilter, matcher

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
slugs = st.text("abc-1", min_size=1, max_size=4).filter(lambda s: s[0] != "-")
moments = st.none() | st.integers(-5, 5).map(lambda d: NOW + timedelta(days=d))


@st.composite
def catalogs(draw: st.DrawFn) -> Catalog:
    names = draw(st.lists(slugs, unique=True, max_size=5))
    return Catalog(
        tuple(
            Contest(slug=n, title=draw(st.text(max_size=5)), opens_at=draw(moments),
                    closes_at=draw(moments))
            for n in names
        )
    )  # fmt: skip


@given(st.none() | catalogs(), slugs, st.dictionaries(slugs, st.integers(1, 10**9)))
def test_the_list_holds_every_known_contest_once_default_first(
    catalog: Catalog | None, default: str, totals: dict[str, int]
) -> None:
    listing = contest_list(catalog, default, totals, NOW)
    ids = [c.id for c in listing.contests]
    in_catalog = [c.slug for c in catalog.contests] if catalog else []
    assert listing.default == default
    assert ids[0] == default
    assert len(ids) == len(set(ids))
    assert set(ids) == {default, *in_catalog, *totals}
    rest = [i for i in ids[1:] if i not in in_catalog]
    assert rest == sorted(rest)
    known = catalog.by_slug() if catalog else {}
    for view in listing.contests:
        assert view.total == totals.get(view.id, 0)
        entry = known.get(view.id)
        if entry is None:
            assert (view.status, view.opens_at, view.closes_at) == ("open", None, None)
            assert view.title == view.id
        else:
            assert view.status == entry.status(NOW)
            assert (view.opens_at, view.closes_at) == (entry.opens_at, entry.closes_at)
            assert view.title == (entry.title or view.id)


def test_a_contest_is_known_by_the_catalog_the_default_or_its_votes() -> None:
    contests = Contests(Catalog((Contest(slug="listed"),)), "main", clock=lambda: NOW)
    assert contests.is_known("main", {})
    assert contests.is_known("listed", {})
    assert contests.is_known("voted", {"voted": 3})
    assert not contests.is_known("nope", {"voted": 3})
    closed = Contests(Catalog((Contest(slug="x", closes_at=NOW),)), "main", clock=lambda: NOW)
    assert closed.status("x") == "closed"
    assert closed.status("main") == "open"


@given(st.lists(slugs, min_size=1, max_size=6), slugs)
def test_the_contest_filter_keeps_exactly_that_contests_votes(
    contests: list[str], wanted: str
) -> None:
    entries = [
        {"c": c, "b": "B", "a": "A", "y": 2000, "t": NOW, "i": str(n)}
        for n, c in enumerate(contests)
    ]
    kept = [e for e in entries if matcher(VoteFilter(contest=wanted))(e)]
    assert kept == [e for e in entries if e["c"] == wanted]
    assert all(matcher(VoteFilter())(e) for e in entries)
