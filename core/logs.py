"""Log formats: readable text (the default) or one JSON object per line (LOG_FORMAT=json), on stdout.

Both carry the trace id of the code that logged, when it runs inside a trace. The request line
(`douyin.request`, one per HTTP request) carries its fields as `extra`; JSON shows them as keys. What a
line may hold is decided where it is written: route templates, codes, ids and durations, never a token,
a password or a message's content.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson

from core.telemetry import current_trace_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Fields a request line (or any line) may add through `extra`.
FIELDS = ("request_id", "method", "route", "operation", "status", "outcome", "duration_ms", "viewer_id")


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        trace_id = current_trace_id()
        return f"{line} trace={trace_id}" if trace_id else line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                entry[name] = value
        entry["trace_id"] = current_trace_id()
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def logging_config(level: str, log_format: str) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server (uvicorn applies it in every worker): everything to
    stdout in one format; uvicorn's own access log is off (the request line replaces it, and would print
    query strings, which hold tokens); the database drivers' debug lines are off (they print parameters)."""
    formatter = "json" if log_format == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "text": {"()": f"{__name__}.TextFormatter"},
            "json": {"()": f"{__name__}.JsonFormatter"},
        },
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": formatter}
        },
        "root": {"handlers": ["stdout"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "WARNING"},
            # The database drivers print each statement with its parameters (password hashes, message
            # content) at debug: never, whatever LOG_LEVEL says.
            "aiosqlite": {"level": "INFO"},
            "asyncmy": {"level": "INFO"},
        },
    }


def configure_logging(level: str, log_format: str) -> None:
    logging.config.dictConfig(logging_config(level, log_format))
