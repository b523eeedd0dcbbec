"""``/api/v1/votes``: the audit log, newest first, filtered and cursor-paginated; one vote
by its vote_id."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException, ServiceUnavailableException

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
from queries.views import VotePage, VoteView
from queries.votes import AuditBusyError, MongoVotes, VoteFilter

VOTE_PARAMS = {"contest", "band", "album", "year", "since", "until", "limit", "cursor"}
UNAVAILABLE = "The audit log (MongoDB) is unreachable or busy; retry shortly (Retry-After)"


class VotesController(Controller):
    path = "/api/v1/votes"
    tags = ["votes"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get(
        "/",
        summary="The audit log, newest first, filtered, cursor-paginated",
        responses=documented(
            {400: "A parameter is refused: each is named with what it accepts", 503: UNAVAILABLE}
        ),
    )
    async def votes(
        self,
        votes: NamedDependency[MongoVotes],
        caches: NamedDependency[ReadCaches],
        request: Request[Any, Any, Any],
        contest: ContestFilter = None,
        band: NameFilter = None,
        album: NameFilter = None,
        year: YearFilter = None,
        since: Since = None,
        until: Until = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> VotePage:
        reject_unknown(request, VOTE_PARAMS)
        flt = VoteFilter(
            contest=contest,
            band=band,
            album=album,
            year=year,
            since=None if since is None else moment("since", since),
            until=None if until is None else moment("until", until),
        )
        start = None if cursor is None else decode_cursor(cursor)
        try:
            return await caches.pages.get(
                (flt, limit, cursor), lambda: votes.page(flt, limit, start)
            )
        except AuditBusyError as exc:
            raise ServiceUnavailableException(str(exc), headers={"Retry-After": "1"}) from None
        except STORE_ERRORS as exc:
            raise store_unavailable("the audit log (MongoDB)", exc) from None

    @get(
        "/{vote_id:str}",
        summary="One counted vote by its vote_id",
        responses=documented(
            {
                400: "vote_id is not a UUID",
                404: "No counted vote has this vote_id",
                503: UNAVAILABLE,
            }
        ),
    )
    async def vote(self, votes: NamedDependency[MongoVotes], vote_id: VoteId) -> VoteView:
        canonical = vote_id.lower()
        try:
            found = await votes.by_vote_id(canonical)
        except STORE_ERRORS as exc:
            raise store_unavailable("the audit log (MongoDB)", exc) from None
        if found is None:
            raise NotFoundException(f"no counted vote has vote_id {canonical}")
        return found
