"""``/api/v1/votes``: the public audit log, newest first, filtered and cursor-paginated; one
vote by its vote_id. A vote's voter is shown by pseudonym only, the board's (ADR 8): no
public route names a voter (DESIGN.md, "Privacy"). The full records are the auditors'
(queries.audit_api), read by the same functions as here: ``page_query``, ``read_page`` and
``read_vote``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException, ServiceUnavailableException

from domain.board import Pseudonyms
from queries.errors import documented
from queries.inputs import decode_cursor, moment
from queries.params import (
    ContestFilter,
    Cursor,
    Limit,
    NameFilter,
    Since,
    Until,
    VoteId,
    YearFilter,
    reject_unknown,
)
from queries.reads import STORE_ERRORS, ReadCaches, store_unavailable
from queries.views import AuditPage, AuditRecord, VotePage, VoteView
from queries.votes import AuditBusyError, MongoVotes, VoteFilter

VOTE_PARAMS = {"contest", "band", "album", "year", "since", "until", "limit", "cursor"}
UNAVAILABLE = "The audit log (MongoDB) is unreachable or busy; retry shortly (Retry-After)"
PAGE_ERRORS = {400: "A parameter is refused: each is named with what it accepts", 503: UNAVAILABLE}
VOTE_ERRORS = {
    400: "vote_id is not a UUID",
    404: "No counted vote has this vote_id",
    503: UNAVAILABLE,
}


class PageQuery(msgspec.Struct, frozen=True):
    """The page a request asks for: the filter, the page's size and where it starts."""

    flt: VoteFilter
    limit: int
    cursor: str | None


def page_query(
    request: Request[Any, Any, Any],
    contest: ContestFilter = None,
    band: NameFilter = None,
    album: NameFilter = None,
    year: YearFilter = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> PageQuery:
    """The page a list route is asked for, from its query parameters (a dependency, so each
    list route's schema states them)."""
    reject_unknown(request, VOTE_PARAMS)
    flt = VoteFilter(
        contest=contest,
        band=band,
        album=album,
        year=year,
        since=None if since is None else moment("since", since),
        until=None if until is None else moment("until", until),
    )
    return PageQuery(flt, limit, cursor)


PAGE_QUERY = {"page": Provide(page_query, sync_to_thread=False)}


async def read_page(votes: MongoVotes, caches: ReadCaches, page: PageQuery) -> AuditPage:
    """The page of full records (identical concurrent reads share one); 503 when the audit
    log cannot answer."""
    start = None if page.cursor is None else decode_cursor(page.cursor)
    try:
        return await caches.pages.get(
            (page.flt, page.limit, page.cursor), lambda: votes.page(page.flt, page.limit, start)
        )
    except AuditBusyError as exc:
        raise ServiceUnavailableException(str(exc), headers={"Retry-After": "1"}) from None
    except STORE_ERRORS as exc:
        raise store_unavailable("the audit log (MongoDB)", exc) from None


async def read_vote(votes: MongoVotes, vote_id: str) -> AuditRecord:
    """One counted vote's full record; 404 when no counted vote has ``vote_id``."""
    canonical = vote_id.lower()
    try:
        found = await votes.by_vote_id(canonical)
    except STORE_ERRORS as exc:
        raise store_unavailable("the audit log (MongoDB)", exc) from None
    if found is None:
        raise NotFoundException(f"no counted vote has vote_id {canonical}")
    return found


class VotesController(Controller):
    path = "/api/v1/votes"
    tags = ["votes"]  # noqa: RUF012 - Litestar declares it as a plain attribute
    dependencies = PAGE_QUERY

    @get(
        "/",
        summary="The audit log, newest first, filtered, cursor-paginated; voters by pseudonym",
        responses=documented(PAGE_ERRORS),
    )
    async def votes(
        self,
        votes: NamedDependency[MongoVotes],
        caches: NamedDependency[ReadCaches],
        pseudonyms: NamedDependency[Pseudonyms],
        page: NamedDependency[PageQuery],
    ) -> VotePage:
        return (await read_page(votes, caches, page)).public(pseudonyms)

    @get(
        "/{vote_id:str}",
        summary="One counted vote by its vote_id; its voter by pseudonym",
        responses=documented(VOTE_ERRORS),
    )
    async def vote(
        self,
        votes: NamedDependency[MongoVotes],
        pseudonyms: NamedDependency[Pseudonyms],
        vote_id: VoteId,
    ) -> VoteView:
        return (await read_vote(votes, vote_id)).public(pseudonyms)
