"""Structured logs: one JSON object per line, with the SKU, location, event and input coordinates
where the line is about one, and never personal data.

A log call names what it is about with ``extra``::

    log.warning("dead-lettered: %s", reason, extra={"topic": t, "partition": p, "offset": o})

and the line carries those fields beside ``ts``, ``level``, ``logger`` and ``msg``.
Whatever the message says, anything shaped like an email address is masked before it
is written (defence in depth: no code path should put one there in the first place).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys

import orjson

# Fields a log call may attach with ``extra=`` (the retail and Kafka coordinates of what a line is about).
CONTEXT_FIELDS = (
    "sku",
    "location",
    "event_id",
    "reservation_id",
    "channel",
    "channel_sku",
    "topic",
    "partition",
    "offset",
    "connector",
    "table",
)

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def scrub(text: str) -> str:
    """``text`` with anything shaped like an email address replaced by ``***``."""
    return _EMAIL.sub("***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["error"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for every logger of the process (the pipeline's log file collects them)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpx2", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
