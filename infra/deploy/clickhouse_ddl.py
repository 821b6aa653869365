"""The project's ClickHouse DDL (``schemas/clickhouse``) for a sharded, replicated ClickHouse cluster.

Each table ``atp.T`` becomes a replicated local table ``atp.T_local`` on every node and a Distributed
table ``atp.T`` over them, so the loader, the CLI and the analysts' SQL keep their names. The sharding
key is the first column of the table's ORDER BY: every version of one row's identity lands on one shard,
where ReplacingMergeTree (and FINAL) can collapse it. Views and ALTERs run ON CLUSTER as they are.
Statements the transformation does not know raise, rather than pass through unreplicated.
"""

from __future__ import annotations

import re

from connectors.clickhouse_store import ddl_statements

CLUSTER = "{cluster}"  # the macro the Altinity operator defines on every node
LOCAL_SUFFIX = "_local"

_CREATE_DB = re.compile(r"^CREATE DATABASE IF NOT EXISTS (\w+)$", re.S)
_CREATE_TABLE = re.compile(
    r"^CREATE TABLE IF NOT EXISTS (?P<db>\w+)\.(?P<table>\w+)\s*"
    r"(?:(?P<columns>\(.*\))|AS (?P<like_db>\w+)\.(?P<like>\w+))\s*"
    r"ENGINE = (?P<engine>\w*MergeTree)(?:\((?P<args>[^)]*)\))?\s*(?P<rest>ORDER BY .*)$",
    re.S,
)
_ALTER = re.compile(r"^ALTER TABLE (?P<db>\w+)\.(?P<table>\w+) (?P<change>.*)$", re.S)
_CREATE_VIEW = re.compile(r"^CREATE VIEW IF NOT EXISTS (?P<name>\w+\.\w+)\s+(?P<body>AS\s.*)$", re.S)


class UnknownStatementError(ValueError):
    """A DDL statement the cluster rendering does not know how to distribute."""


def sharding_key(order_by: str) -> str:
    """``cityHash64(sku)`` for ``ORDER BY (sku, location)``."""
    inner = order_by.removeprefix("ORDER BY").strip()
    inner = inner[1:-1] if inner.startswith("(") else inner
    return f"cityHash64({inner.split(',')[0].strip()})"


def replicated_engine(engine: str, args: str | None, db: str, table: str) -> str:
    """``ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/atp/T_local', '{replica}', version)``."""
    path = f"'/clickhouse/tables/{{shard}}/{db}/{table}', '{{replica}}'"
    return f"Replicated{engine}({path}{', ' + args.strip() if args and args.strip() else ''})"


def cluster_statement(statement: str) -> list[str]:
    """The cluster's statements for one of the project's."""
    if match := _CREATE_DB.match(statement):
        return [f"CREATE DATABASE IF NOT EXISTS {match[1]} ON CLUSTER '{CLUSTER}'"]
    if match := _CREATE_TABLE.match(statement):
        db, local = match["db"], match["table"] + LOCAL_SUFFIX
        shape = match["columns"] or f"AS {match['like_db']}.{match['like']}{LOCAL_SUFFIX}"
        engine = replicated_engine(match["engine"], match["args"], db, local)
        return [
            f"CREATE TABLE IF NOT EXISTS {db}.{local} ON CLUSTER '{CLUSTER}'\n{shape}\n"
            f"ENGINE = {engine}\n{match['rest'].strip()}",
            f"CREATE TABLE IF NOT EXISTS {db}.{match['table']} ON CLUSTER '{CLUSTER}' AS {db}.{local}\n"
            f"ENGINE = Distributed('{CLUSTER}', {db}, {local}, {sharding_key(match['rest'])})",
        ]
    if match := _ALTER.match(statement):
        db, table, change = match["db"], match["table"], match["change"]
        # The local table first: a Distributed table's column must exist below it.
        return [
            f"ALTER TABLE {db}.{table}{LOCAL_SUFFIX} ON CLUSTER '{CLUSTER}' {change}",
            f"ALTER TABLE {db}.{table} ON CLUSTER '{CLUSTER}' {change}",
        ]
    if match := _CREATE_VIEW.match(statement):
        return [f"CREATE VIEW IF NOT EXISTS {match['name']} ON CLUSTER '{CLUSTER}' {match['body']}"]
    raise UnknownStatementError(f"no cluster form for: {statement.splitlines()[0]}")


def cluster_ddl(statements: list[str] | None = None) -> list[str]:
    """Every statement of ``schemas/clickhouse`` (or ``statements``) in its cluster form, in order."""
    return [out for statement in (ddl_statements() if statements is None else statements)
            for out in cluster_statement(statement)]  # fmt: skip


def cluster_sql() -> str:
    """The cluster DDL as one script for ``clickhouse-client --multiquery``."""
    return "".join(statement + ";\n\n" for statement in cluster_ddl())
