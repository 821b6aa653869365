"""The Debezium ``source`` block: where in the source's log a change sits, and when it committed."""

from __future__ import annotations

from typing import Any

from atp.domain.events import SourcePosition
from atp.errors import CdcDecodeError


def commit_ts_ms(source: dict[str, Any]) -> int:
    """Commit time at the source. MariaDB's binlog keeps whole seconds; PostgreSQL gives microseconds."""
    ts_us = source.get("ts_us")
    if isinstance(ts_us, int) and not isinstance(ts_us, bool):
        return ts_us // 1000
    ts_ms = source.get("ts_ms")
    if isinstance(ts_ms, int) and not isinstance(ts_ms, bool):
        return ts_ms
    raise CdcDecodeError("missing_source", "source block has no ts_ms")


def mariadb_position(source: dict[str, Any]) -> SourcePosition:
    """(binlog file number, position, row within the event): orders the changes of one row."""
    file, pos, row = source.get("file"), source.get("pos"), source.get("row", 0)
    if not isinstance(file, str) or not isinstance(pos, int) or not isinstance(row, int):
        raise CdcDecodeError("missing_source", f"binlog position missing (file={file!r}, pos={pos!r})")
    _, _, number = file.rpartition(".")
    # ASCII digits only, and few: int() refuses other Unicode digits and numbers of more than 4300 digits.
    if not (number.isascii() and number.isdigit()) or len(number) > 18:
        raise CdcDecodeError("missing_source", f"binlog file name {file!r} has no sequence number")
    return (int(number), pos, row)


def postgres_position(source: dict[str, Any]) -> SourcePosition:
    """(lsn,): every change in the WAL has its own log sequence number."""
    lsn = source.get("lsn")
    if not isinstance(lsn, int) or isinstance(lsn, bool):
        raise CdcDecodeError("missing_source", f"lsn missing ({lsn!r})")
    return (lsn,)


def describe_position(position: SourcePosition) -> str:
    if len(position) == 3:
        return f"binlog={position[0]}:{position[1]}#{position[2]}"
    return f"lsn={position[0]}"
