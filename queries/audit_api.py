"""``/api/v1/audit/votes``: the audit log's full records, the voter_id included, for
auditors only (DESIGN.md, "Privacy"). The same filters, pagination and reads as the public
``/api/v1/votes`` (queries.votes_api), without the pseudonym in place of the voter.

Every route here is behind the auditor's bearer token (``Authorization: Bearer <token>``,
the token from ``BOLETA_AUDITOR_TOKEN_FILE``), checked by a Litestar guard on the router
that holds them, before any parameter is read or the store is asked: a request without the
token, or with another, is answered 401 with ``WWW-Authenticate: Bearer`` and nothing of
any record. The token is compared in constant time."""

from __future__ import annotations

import hmac
from typing import Any, Final

from litestar import Controller, Router, get
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.openapi.spec import SecurityScheme

from queries.errors import documented
from queries.params import VoteId
from queries.reads import ReadCaches
from queries.views import AuditPage, AuditRecord
from queries.votes import MongoVotes
from queries.votes_api import PAGE_ERRORS, PAGE_QUERY, VOTE_ERRORS, PageQuery, read_page, read_vote

AUDITOR_SCHEME: Final = "auditorToken"  # the security scheme's name in the OpenAPI schema
SECURITY_SCHEME: Final = SecurityScheme(
    type="http",
    scheme="bearer",
    description="The auditor's token (the one line of the file BOLETA_AUDITOR_TOKEN_FILE "
    "names), as Authorization: Bearer <token>",
)
CHALLENGE: Final = {"WWW-Authenticate": 'Bearer realm="boleta audit"'}
REFUSED: Final = "No auditor token (Authorization: Bearer <token>), or not the auditor's"


class AuditorToken:
    """A Litestar guard: the request carries the auditor's token as a bearer token, else
    401 (``WWW-Authenticate: Bearer``)."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], _handler: BaseRouteHandler
    ) -> None:
        scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise NotAuthorizedException(
                "this route is for auditors: send Authorization: Bearer <the auditor token>",
                headers=CHALLENGE,
            )
        # Headers are decoded as Latin-1: encoded back, they are the bytes that were sent.
        if not hmac.compare_digest(credentials.strip().encode("latin-1"), self._token):
            raise NotAuthorizedException("the bearer token is not the auditor's", headers=CHALLENGE)


class AuditVotesController(Controller):
    path = "/votes"
    dependencies = PAGE_QUERY

    @get(
        "/",
        summary="The audit log's full records (voter_id included), as /api/v1/votes pages it",
        responses=documented({401: REFUSED, **PAGE_ERRORS}),
    )
    async def votes(
        self,
        votes: NamedDependency[MongoVotes],
        caches: NamedDependency[ReadCaches],
        page: NamedDependency[PageQuery],
    ) -> AuditPage:
        return await read_page(votes, caches, page)

    @get(
        "/{vote_id:str}",
        summary="One counted vote's full record (voter_id included) by its vote_id",
        responses=documented({401: REFUSED, **VOTE_ERRORS}),
    )
    async def vote(self, votes: NamedDependency[MongoVotes], vote_id: VoteId) -> AuditRecord:
        return await read_vote(votes, vote_id)


def audit_router(token: str) -> Router:
    """The auditor routes, under ``/api/v1/audit``, behind ``token``."""
    return Router(
        path="/api/v1/audit",
        route_handlers=[AuditVotesController],
        guards=[AuditorToken(token)],
        security=[{AUDITOR_SCHEME: []}],
        tags=["audit"],
    )
