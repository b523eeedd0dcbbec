"""One server interceptor: request ids, metrics, and the optional bearer token."""

from __future__ import annotations

import hmac
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog

from commands.metrics import CommandMetrics

# Health checks and reflection stay open, so probes and tools work without the token.
OPEN_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
log = structlog.get_logger("boleta.commands")


def _metadata(details: grpc.HandlerCallDetails) -> dict[str, str]:
    return {k: v for k, v in (details.invocation_metadata or ()) if isinstance(v, str)}


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, metrics: CommandMetrics, token: str = "") -> None:
        self._metrics = metrics
        self._expected = f"Bearer {token}".encode() if token else b""

    def _authorized(self, metadata: dict[str, str]) -> bool:
        if not self._expected:
            return True
        given = metadata.get("authorization", "").encode()
        return hmac.compare_digest(given, self._expected)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or handler.unary_unary is None or method.startswith(OPEN_PREFIXES):
            return handler
        metadata = _metadata(details)
        inner = handler.unary_unary
        metrics = self._metrics
        authorized = self._authorized(metadata)
        request_id = metadata.get("x-request-id") or uuid.uuid4().hex
        name = method.rsplit("/", 1)[-1]

        async def observed(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            metrics.inflight.inc()
            code = "OK"
            try:
                context.set_trailing_metadata((("x-request-id", request_id),))
                if not authorized:
                    metrics.rejected("unauthenticated")
                    await context.abort(
                        grpc.StatusCode.UNAUTHENTICATED,
                        "missing or wrong bearer token; send 'authorization: Bearer <token>'",
                    )
                return await inner(request, context)
            except BaseException:
                state = context.code()
                code = state.name if isinstance(state, grpc.StatusCode) else "UNKNOWN"
                if code == "UNKNOWN":
                    log.exception("unhandled error", method=name, request_id=request_id)
                raise
            finally:
                metrics.inflight.dec()
                metrics.latency.labels(name, code).observe(time.perf_counter() - started)

        return grpc.unary_unary_rpc_method_handler(
            observed,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
