"""Structured JSON logs for the long-running processes (structlog)."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def configure(level: str = "INFO", stream: TextIO | None = None) -> None:
    """JSON lines on ``stream`` (stderr by default: a process's log file under ``boleta
    up``)."""
    out = stream or sys.stderr
    logging.basicConfig(format="%(message)s", stream=out, level=level)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
