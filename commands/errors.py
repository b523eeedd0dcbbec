"""Domain outcomes as gRPC statuses: the one place that maps rejections to status codes."""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from domain import FieldViolation, Rejection

CODES: dict[str, grpc.StatusCode] = {
    "invalid_argument": grpc.StatusCode.INVALID_ARGUMENT,
    "contest_closed": grpc.StatusCode.FAILED_PRECONDITION,
    "unknown_contest": grpc.StatusCode.FAILED_PRECONDITION,
    "already_voted": grpc.StatusCode.ALREADY_EXISTS,
    "unavailable": grpc.StatusCode.UNAVAILABLE,
    "resource_exhausted": grpc.StatusCode.RESOURCE_EXHAUSTED,
}


def status_code(rejection: Rejection) -> grpc.StatusCode:
    return CODES.get(rejection.reason, grpc.StatusCode.INTERNAL)


def code_number(rejection: Rejection) -> int:
    number: int = status_code(rejection).value[0]
    return number


def to_status(rejection: Rejection) -> grpc.Status:
    """A rich status: code, message and, for invalid arguments, google.rpc.BadRequest."""
    status = status_pb2.Status(code=code_number(rejection), message=rejection.message)
    if rejection.violations:
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in rejection.violations
            ]
        )
        detail = any_pb2.Any()
        detail.Pack(bad_request)
        status.details.append(detail)
    return rpc_status.to_status(status)


def invalid_request(field: str, description: str) -> grpc.Status:
    """A whole request that is malformed (e.g. a batch over the size limit)."""
    return to_status(
        Rejection("invalid_argument", description, (FieldViolation(field, description),))
    )
