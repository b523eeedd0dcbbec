"""The routes' parameters as the schema states them, what each accepts (``ACCEPTED``, which
the 400s quote), and the check that a route was given no others.

Times and cursors are declared as text with the pattern of ``queries.inputs``, which
parses them (Litestar would read ``as_of=0.5`` as a Unix timestamp): the schema shows the
pattern, and the handler's parse enforces it with an error naming the field and range.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request
from litestar.params import Parameter

from domain.validation import MAX_CONTEST, MAX_TEXT, MIN_YEAR
from queries.errors import UnknownParameterError
from queries.inputs import (
    CURSOR_PATTERN,
    CURSORS,
    DATE_TIME_PATTERN,
    LIMITS,
    MOMENTS,
    POSITIONS_PATTERN,
    POSITIONS_TEXT,
)

CONTEST_PATTERN: Final = r"^[a-z0-9][a-z0-9-]*$"
UUID_PATTERN: Final = (
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
MAX_YEAR: Final = 9999

ACCEPTED: Final[dict[str, str]] = {
    "contest": "a contest id: lowercase letters, digits and hyphens, starting with a letter "
    f"or digit, at most {MAX_CONTEST} characters",
    "band": f"text of 1 to {MAX_TEXT} characters",
    "album": f"text of 1 to {MAX_TEXT} characters",
    "year": f"an integer from {MIN_YEAR} to {MAX_YEAR}",
    "limit": f"an integer from {LIMITS[0]} to {LIMITS[1]}",
    "vote_id": "a UUID",
    "as_of": f"{MOMENTS}, not after now",
    "since": MOMENTS,
    "until": MOMENTS,
    "cursor": CURSORS,
    "positions": POSITIONS_TEXT,
}

ContestId = Annotated[
    str,
    Parameter(pattern=CONTEST_PATTERN, max_length=MAX_CONTEST, description=ACCEPTED["contest"]),
]
ContestFilter = Annotated[
    str | None,
    Parameter(pattern=CONTEST_PATTERN, max_length=MAX_CONTEST, description=ACCEPTED["contest"]),
]
NameFilter = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=MAX_TEXT,
        description="Matches as the tallies count: case, accents and spacing aside",
    ),
]
YearFilter = Annotated[int | None, Parameter(ge=MIN_YEAR, le=MAX_YEAR)]
Limit = Annotated[int, Parameter(ge=LIMITS[0], le=LIMITS[1], description="Votes per page")]
VoteId = Annotated[str, Parameter(pattern=UUID_PATTERN, description=ACCEPTED["vote_id"])]
Cursor = Annotated[
    str | None,
    Parameter(
        description="Opaque: the next_cursor of the previous page",
        schema_extra={"pattern": CURSOR_PATTERN},
    ),
]


def moment_parameter(description: str) -> Any:
    """A time, as ``queries.inputs.moment`` accepts it."""
    return Parameter(
        description=f"{description}; {MOMENTS}",
        schema_extra={"format": "date-time", "pattern": DATE_TIME_PATTERN},
    )


AsOf = Annotated[
    str | None,
    moment_parameter(
        "The tallies of every vote cast up to this moment, computed from the log; not after "
        "now (a moment that has not come yet answers 404)"
    ),
]
PositionsParam = Annotated[
    str | None,
    Parameter(
        description="The tallies of exactly the log's messages before these end offsets, "
        "one per partition (the positions a board checkpoint covers: a recount compares "
        "with this), computed from the log; with as_of, of those cast up to it. "
        f"{POSITIONS_TEXT}. An end past the log's answers 404",
        schema_extra={"pattern": POSITIONS_PATTERN},
    ),
]
Since = Annotated[str | None, moment_parameter("Votes cast at or after this moment")]
Until = Annotated[str | None, moment_parameter("Votes cast before this moment")]


def reject_unknown(request: Request[Any, Any, Any], allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        accepted = ", ".join(sorted(allowed)) or "none"
        raise UnknownParameterError(
            f"unknown query parameter(s): {', '.join(unknown)}; allowed: {accepted}",
            extra=[
                {
                    "key": name,
                    "source": "query",
                    "message": f"not taken here; allowed: {accepted}",
                }
                for name in unknown
            ],
        )
