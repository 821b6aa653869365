"""The schema files the code loads, as package data: Avro contracts, ClickHouse DDL, the legacy sources' DDL.

Found through ``importlib.resources``, so an installed wheel finds them as well as a checkout does.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# A regular package installed from a wheel or a checkout is a directory on disk, so a Path is safe here.
SCHEMAS_DIR = Path(str(files(__name__)))
AVRO_DIR = SCHEMAS_DIR / "avro"
CLICKHOUSE_DIR = SCHEMAS_DIR / "clickhouse"
SOURCES_DIR = SCHEMAS_DIR / "sources"
