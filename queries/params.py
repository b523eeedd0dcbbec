"""The routes' parameters as the schema states them, and the check that a route was given
no others."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from domain.validation import MAX_CONTEST

CONTEST_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"

ContestId = Annotated[
    str,
    Parameter(
        pattern=CONTEST_PATTERN,
        max_length=MAX_CONTEST,
        description="A contest id: lowercase letters, digits and hyphens",
    ),
]


def reject_unknown(request: Request[Any, Any, Any], allowed: set[str]) -> None:
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationException(
            f"unknown query parameter(s): {', '.join(unknown)}; "
            f"allowed: {', '.join(sorted(allowed)) or 'none'}"
        )
