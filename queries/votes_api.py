"""``/api/v1/votes``: the audit log, newest first, filtered and cursor-paginated; one vote
by its vote_id."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.exceptions import (
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.openapi import ResponseSpec
from litestar.params import Parameter

from domain.validation import MAX_CONTEST, MAX_TEXT, MIN_YEAR
from queries.params import CONTEST_PATTERN, UUID_PATTERN, reject_unknown
from queries.reads import STORE_ERRORS, ReadCaches, store_unavailable
from queries.views import VotePage, VoteView
from queries.votes import AuditBusyError, BadCursorError, MongoVotes, VoteFilter

VOTE_PARAMS = {"contest", "band", "album", "year", "since", "until", "limit", "cursor"}


class VotesController(Controller):
    path = "/api/v1/votes"
    tags = ["votes"]  # noqa: RUF012 - Litestar declares it as a plain attribute

    @get("/", summary="The audit log, newest first, filtered, cursor-paginated")
    async def votes(
        self,
        votes: NamedDependency[MongoVotes],
        caches: NamedDependency[ReadCaches],
        request: Request[Any, Any, Any],
        contest: Annotated[
            str | None, Parameter(pattern=CONTEST_PATTERN, max_length=MAX_CONTEST)
        ] = None,
        band: Annotated[str | None, Parameter(max_length=MAX_TEXT, min_length=1)] = None,
        album: Annotated[str | None, Parameter(max_length=MAX_TEXT, min_length=1)] = None,
        year: Annotated[int | None, Parameter(ge=MIN_YEAR, le=9999)] = None,
        since: Annotated[datetime | None, Parameter(description="RFC 3339, inclusive")] = None,
        until: Annotated[datetime | None, Parameter(description="RFC 3339, exclusive")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Parameter(max_length=400, min_length=1)] = None,
    ) -> VotePage:
        reject_unknown(request, VOTE_PARAMS)
        for name, moment in (("since", since), ("until", until)):
            if moment is not None and moment.tzinfo is None:
                raise ValidationException(f"{name} needs a time zone, e.g. 2026-11-27T10:00:00Z")
        flt = VoteFilter(
            contest=contest, band=band, album=album, year=year, since=since, until=until
        )
        try:
            return await caches.pages.get(
                (flt, limit, cursor), lambda: votes.page(flt, limit, cursor)
            )
        except BadCursorError as exc:
            raise ValidationException(str(exc)) from None
        except AuditBusyError as exc:
            raise ServiceUnavailableException(str(exc), headers={"Retry-After": "1"}) from None
        except STORE_ERRORS as exc:
            raise store_unavailable("the audit log (MongoDB)", exc) from None

    @get(
        "/{vote_id:str}",
        summary="One counted vote by its vote_id",
        responses={404: ResponseSpec(None, description="No counted vote has this vote_id")},
    )
    async def vote(
        self,
        votes: NamedDependency[MongoVotes],
        vote_id: Annotated[str, Parameter(pattern=UUID_PATTERN, description="A UUID")],
    ) -> VoteView:
        canonical = vote_id.lower()
        try:
            found = await votes.by_vote_id(canonical)
        except STORE_ERRORS as exc:
            raise store_unavailable("the audit log (MongoDB)", exc) from None
        if found is None:
            raise NotFoundException(f"no counted vote has vote_id {canonical}")
        return found
