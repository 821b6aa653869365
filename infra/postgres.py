"""The POS database: PostgreSQL 15 from Debian's packages, our own cluster on 127.0.0.1.

``wal_level=logical`` for Debezium's pgoutput plugin. Roles:
- ``pos_admin`` owns database ``pos`` and its tables (the POS application);
- ``pos_cdc`` has REPLICATION and SELECT on the captured tables only, nothing else; on a table with
  personal columns (``sale_ticket.customer_email``, ``loyalty_id``) only on its other columns.
The publication ``atp_pos`` is created by the owner, so the CDC user need not own tables.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import schemas
from atp.errors import ServiceError
from atp.settings import LocalStackSettings
from connectors.cdc_connectors import POS_TABLES, personal_columns  # the publication holds exactly the captured tables
from connectors.secret_files import open_private_log
from infra.os_user import as_user, own
from infra.process import Progress
from infra.service import Service

NAME = "postgres"
OS_USER = "postgres"
BIN = Path("/usr/lib/postgresql/15/bin")
PUBLICATION = "atp_pos"
SCHEMA_FILE = schemas.SOURCES_DIR / "pos.sql"


def _data(stack: LocalStackSettings) -> Path:
    return stack.data_dir / NAME


def _socket_dir(stack: LocalStackSettings) -> Path:
    return stack.run_dir / NAME


def _run(argv: list[str], what: str) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, start_new_session=True)
    if result.returncode != 0:
        raise ServiceError(f"postgres: {what} failed: {(result.stderr or result.stdout).strip()[-400:]}")
    return result.stdout


def running_pid(stack: LocalStackSettings) -> int | None:
    try:
        return int((_data(stack) / "postmaster.pid").read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def _init_cluster(stack: LocalStackSettings) -> None:
    data = _data(stack)
    if (data / "PG_VERSION").exists():
        return
    data.mkdir(parents=True, exist_ok=True)
    own(data, OS_USER)
    _run(as_user(OS_USER, [str(BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=peer",
                           "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]), "initdb")  # fmt: skip
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            "\n# atp-stream\n"
            "listen_addresses = '127.0.0.1'\n"
            "wal_level = logical\n"
            "max_replication_slots = 10\n"
            "max_wal_senders = 10\n"
            "password_encryption = 'scram-sha-256'\n"
        )


class Postgres(Service):
    """Started and stopped with pg_ctl as the ``postgres`` OS user; its pid is in ``postmaster.pid``."""

    name = NAME

    @property
    def port(self) -> int:
        return self.stack.postgres_port

    def running(self) -> bool:
        pid = running_pid(self.stack)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def _probe(self) -> bool:
        result = subprocess.run([str(BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True)
        return result.returncode == 0

    def _launch(self, progress: Progress) -> None:
        stack = self.stack
        _init_cluster(stack)
        sockets = _socket_dir(stack)
        sockets.mkdir(parents=True, exist_ok=True)
        own(sockets, OS_USER)
        os.close(open_private_log(self.log))  # 0600, then the server's own
        own(self.log, OS_USER)
        # pg_ctl returns once the server is up; the server (its own session) outlives us.
        _run(as_user(OS_USER, [str(BIN / "pg_ctl"), "-D", str(_data(stack)), "-l", str(self.log), "-w",
                               "-t", str(int(stack.start_timeout_s)),
                               "-o", f"-p {stack.postgres_port} -k {sockets}", "start"]), "start")  # fmt: skip

    def _after_start(self, progress: Progress) -> None:
        _create_roles(self.stack)

    def stop(self) -> None:
        if not self.running():
            return
        _run(as_user(OS_USER, [str(BIN / "pg_ctl"), "-D", str(_data(self.stack)), "-m", "fast", "-w",
                               "-t", "60", "stop"]), "stop")  # fmt: skip


def superuser_sql(stack: LocalStackSettings, sql: str, database: str = "postgres") -> str:
    """Run SQL as the cluster's superuser over the local socket (peer authentication)."""
    return _run(
        as_user(OS_USER, ["psql", "-h", str(_socket_dir(stack)), "-p", str(stack.postgres_port), "-U", "postgres",
                          "-d", database, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]),
        "SQL as superuser",
    )  # fmt: skip


def _quote(secret: str) -> str:
    return "'" + secret.replace("'", "''") + "'"


def _create_roles(stack: LocalStackSettings) -> None:
    admin_pw = _quote(stack.pos_admin_password.get_secret_value())
    cdc_pw = _quote(stack.pos_cdc_password.get_secret_value())
    superuser_sql(
        stack,
        "DO $$ BEGIN "
        "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pos_admin') THEN CREATE ROLE pos_admin LOGIN; END IF; "
        "IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pos_cdc') "
        "THEN CREATE ROLE pos_cdc LOGIN REPLICATION; END IF; "
        "END $$; "
        f"ALTER ROLE pos_admin PASSWORD {admin_pw}; ALTER ROLE pos_cdc PASSWORD {cdc_pw};",
    )
    if not superuser_sql(stack, "SELECT 1 FROM pg_database WHERE datname = 'pos'").strip():
        superuser_sql(stack, "CREATE DATABASE pos OWNER pos_admin")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def cdc_grants(columns: dict[str, list[str]], role: str = "pos_cdc") -> list[str]:
    """What ``role`` may read: each captured table whole, or, if it has personal columns, every other column.

    ``columns``: each POS table's columns as they are now (a column added later is granted at the next
    ``atp up``). Table-wide rights are revoked first, so a stack granted them before loses them.
    """
    statements = []
    for table in POS_TABLES:
        personal = personal_columns(table)
        if not personal:
            statements.append(f"GRANT SELECT ON {_ident(table)} TO {role}")
            continue
        captured = [c for c in columns.get(table, []) if c not in personal]
        if not captured:
            raise ServiceError(f"postgres: table {table} has no columns to grant (is the POS schema applied?)")
        statements.append(f"REVOKE ALL ON {_ident(table)} FROM {role}")
        statements.append(f"GRANT SELECT ({', '.join(_ident(c) for c in captured)}) ON {_ident(table)} TO {role}")
    return statements


def apply_schema(stack: LocalStackSettings) -> None:
    """The POS tables (idempotent), the CDC user's read-only grants, and the publication."""
    from connectors.legacy_db import pos_connection

    tables = ", ".join(POS_TABLES)
    with pos_connection(stack, autocommit=True) as pos, pos.cursor() as cur:
        cur.execute(SCHEMA_FILE.read_text().encode())
        cur.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", (PUBLICATION,))
        verb = "CREATE" if cur.fetchone() is None else "ALTER"
        # Owned by the table owner, so the CDC role needs no ownership; SET keeps the list exact.
        cur.execute(f"{verb} PUBLICATION {PUBLICATION} {'FOR' if verb == 'CREATE' else 'SET'} TABLE {tables}".encode())
        cur.execute(b"REVOKE ALL ON SCHEMA public FROM PUBLIC")
        cur.execute(b"GRANT USAGE ON SCHEMA public TO pos_cdc")
        cur.execute(
            b"SELECT table_name, column_name FROM information_schema.columns "
            b"WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        )
        columns: dict[str, list[str]] = {}
        for table, column in cur.fetchall():
            columns.setdefault(table, []).append(column)
        for statement in cdc_grants(columns):
            cur.execute(statement.encode())
    superuser_sql(
        stack, "REVOKE CREATE, TEMPORARY ON DATABASE pos FROM PUBLIC; GRANT CONNECT ON DATABASE pos TO pos_cdc"
    )
