"""FULL compatibility between Avro contract versions, checked before the registry ever sees them.

The registry enforces FULL_TRANSITIVE when a schema is registered, but only for
the versions it holds. This check runs in the test suite against every version
kept in ``schemas/avro`` (``<topic>-v<N>.avsc``), so a breaking change fails the
build with a message that names the field, not a 409 at deploy time.

FULL means both directions of Avro schema resolution work:
- backward: a consumer on the new schema reads records written with the old one;
- forward: a consumer on the old schema reads records written with the new one.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

Schema = Any  # parsed .avsc JSON: a dict, a list (union) or a type name

_PROMOTIONS = {
    ("int", "long"),
    ("int", "float"),
    ("int", "double"),
    ("long", "float"),
    ("long", "double"),
    ("float", "double"),
    ("string", "bytes"),
    ("bytes", "string"),
}

VERSIONED_FILE = re.compile(r"^(?P<contract>.+)-v(?P<version>\d+)\.avsc$")


def incompatibilities(old: Schema, new: Schema) -> list[str]:
    """Every reason ``new`` is not FULL-compatible with ``old``, each naming the field; empty if it is."""
    backward = [f"backward (new reader, old records): {m}" for m in _cannot_read(new, old, _names(new), _names(old))]
    forward = [f"forward (old reader, new records): {m}" for m in _cannot_read(old, new, _names(old), _names(new))]
    return backward + forward


def contract_versions(avro_dir: Path) -> dict[str, list[Path]]:
    """``{"atp.channel": [v1 path, v2 path, ...]}``, each list in version order."""
    versions: dict[str, list[tuple[int, Path]]] = {}
    for path in avro_dir.glob("*.avsc"):
        match = VERSIONED_FILE.match(path.name)
        if match:
            versions.setdefault(match["contract"], []).append((int(match["version"]), path))
    return {contract: [p for _, p in sorted(found)] for contract, found in versions.items()}


def _names(schema: Schema, found: dict[str, Schema] | None = None) -> dict[str, Schema]:
    """Named types (records, enums, fixed) defined anywhere in ``schema``, by short and full name."""
    found = {} if found is None else found
    if isinstance(schema, list):
        for branch in schema:
            _names(branch, found)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed") and "name" in schema:
            found[schema["name"]] = schema
            if "namespace" in schema:
                found[f"{schema['namespace']}.{schema['name']}"] = schema
        for field in schema.get("fields", []):
            _names(field["type"], found)
        for key in ("items", "values"):
            if key in schema:
                _names(schema[key], found)
    return found


def _resolve(schema: Schema, names: dict[str, Schema]) -> Schema:
    if isinstance(schema, str) and schema in names:
        return names[schema]
    if isinstance(schema, dict) and isinstance(schema.get("type"), str | list | dict) and len(schema) == 1:
        return _resolve(schema["type"], names)
    return schema


def _kind(schema: Schema) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        kind = schema["type"]
        return kind if isinstance(kind, str) else _kind(kind)
    return str(schema)


def _describe(schema: Schema) -> str:
    kind = _kind(schema)
    logical = schema.get("logicalType") if isinstance(schema, dict) else None
    return f"{kind} ({logical})" if logical else kind


def _cannot_read(
    reader: Schema, writer: Schema, reader_names: dict[str, Schema], writer_names: dict[str, Schema], path: str = ""
) -> list[str]:
    """Why data written with ``writer`` cannot be read with ``reader``."""
    reader, writer = _resolve(reader, reader_names), _resolve(writer, writer_names)
    where = f"field '{path}'" if path else "the record"
    if _kind(writer) == "union":
        return [m for branch in writer for m in _cannot_read(reader, branch, reader_names, writer_names, path)][:1]
    if _kind(reader) == "union":
        if any(not _cannot_read(branch, writer, reader_names, writer_names, path) for branch in reader):
            return []
        return [f"{where}: no branch of the reader's union reads a {_describe(writer)}"]
    reader_kind, writer_kind = _kind(reader), _kind(writer)
    if reader_kind != writer_kind and (writer_kind, reader_kind) not in _PROMOTIONS:
        return [f"{where}: type changed from {_describe(writer)} to {_describe(reader)}"]
    reader_logical = reader.get("logicalType") if isinstance(reader, dict) else None
    writer_logical = writer.get("logicalType") if isinstance(writer, dict) else None
    if reader_logical != writer_logical:
        return [f"{where}: logical type changed from {writer_logical} to {reader_logical}"]
    renamed = reader_kind in ("record", "enum", "fixed") and reader.get("name") != writer.get("name")
    if renamed and writer.get("name") not in reader.get("aliases", []):
        return [f"{where}: {reader_kind} renamed from {writer.get('name')} to {reader.get('name')} without an alias"]
    if reader_kind == "record":
        return _record(reader, writer, reader_names, writer_names, path)
    if reader_kind == "enum":
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            return [f"{where}: enum symbol(s) {missing} unknown to the reader, and the enum has no default"]
    if reader_kind == "array":
        return _cannot_read(reader["items"], writer["items"], reader_names, writer_names, f"{path}[]")
    if reader_kind == "map":
        return _cannot_read(reader["values"], writer["values"], reader_names, writer_names, f"{path}{{}}")
    if reader_kind == "fixed" and reader.get("size") != writer.get("size"):
        return [f"{where}: fixed size changed from {writer.get('size')} to {reader.get('size')}"]
    return []


def _record(
    reader: dict[str, Any],
    writer: dict[str, Any],
    reader_names: dict[str, Schema],
    writer_names: dict[str, Schema],
    path: str,
) -> list[str]:
    problems = []
    written = {f["name"]: f for f in writer["fields"]}
    for field in reader["fields"]:
        name = f"{path}.{field['name']}" if path else field["name"]
        source = written.get(field["name"]) or next(
            (written[a] for a in field.get("aliases", []) if a in written), None
        )
        if source is None:
            if "default" not in field:
                problems.append(f"field '{name}' is missing from the records and has no default")
            continue
        problems += _cannot_read(field["type"], source["type"], reader_names, writer_names, name)
    return problems
