"""The ERP database: MariaDB from Debian's packages, our own instance on 127.0.0.1.

Row-based binlog with full row images, as Debezium's MariaDB connector needs. Users:
- ``erp_admin`` owns database ``erp`` (the ERP application);
- ``erp_cdc`` may SELECT and read the binlog, nothing else.
"""

from __future__ import annotations

import getpass
import os
import shutil
import subprocess
from pathlib import Path

import schemas
from atp.errors import ServiceError
from atp.settings import LocalStackSettings
from connectors.cdc_connectors import ERP_TABLES  # the only ERP tables the CDC user may read
from connectors.secret_files import PRIVATE_UMASK, private_dir
from infra import process
from infra.os_user import own
from infra.process import Progress
from infra.service import Service

NAME = "mariadb"
OS_USER = "mysql"
SCHEMA_FILE = schemas.SOURCES_DIR / "erp.sql"
# What Debezium's MariaDB connector needs beyond SELECT on erp.*: list databases, take the short
# global read lock of its snapshot (RELOAD), read the binlog and its position. No write privilege.
CDC_GLOBAL_PRIVILEGES = "RELOAD, SHOW DATABASES, REPLICATION SLAVE, BINLOG MONITOR"


def _data(stack: LocalStackSettings) -> Path:
    return stack.data_dir / NAME


def _socket(stack: LocalStackSettings) -> Path:
    return stack.run_dir / NAME / "mariadb.sock"


def _binary(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if os.path.exists(f"/usr/sbin/{name}") else None)
    if found is None:
        raise ServiceError(f"mariadb: {name} not found; install Debian's mariadb-server")
    return found


def _local_admin() -> str:
    """The account mariadb-install-db gives socket access: root, or the OS user who installed it."""
    return "root" if os.geteuid() == 0 else getpass.getuser()


def _init_datadir(stack: LocalStackSettings) -> None:
    data = _data(stack)
    if (data / "mysql").is_dir():
        data.chmod(0o700)  # a data folder made before it was private becomes so
        return
    private_dir(data)  # 0700 (its owner: the server's OS user when we are root)
    argv = [
        _binary("mariadb-install-db"),
        f"--datadir={data}",
        "--skip-test-db",
        "--auth-root-authentication-method=socket",
    ]
    if os.geteuid() == 0:
        own(data, OS_USER)
        argv.append(f"--user={OS_USER}")
    result = subprocess.run(argv, capture_output=True, text=True, umask=PRIVATE_UMASK)
    if result.returncode != 0:
        raise ServiceError(f"mariadb: mariadb-install-db failed: {(result.stderr or result.stdout).strip()[-400:]}")


class MariaDb(Service):
    name = NAME

    @property
    def port(self) -> int:
        return self.stack.mariadb_port

    def _probe(self) -> bool:
        return admin_sql(self.stack, "SELECT 1").strip() == "1"

    def _launch(self, progress: Progress) -> None:
        stack = self.stack
        _init_datadir(stack)
        socket_dir = _socket(stack).parent
        socket_dir.mkdir(parents=True, exist_ok=True)
        own(socket_dir, OS_USER)
        argv = [
            _binary("mariadbd"), "--no-defaults", f"--datadir={_data(stack)}",
            "--bind-address=127.0.0.1", f"--port={stack.mariadb_port}", f"--socket={_socket(stack)}",
            f"--pid-file={socket_dir / 'mariadbd.pid'}", "--skip-name-resolve",
            "--server-id=1", "--log-bin=mysql-bin", "--binlog-format=ROW", "--binlog-row-image=FULL",
            "--innodb-buffer-pool-size=256M", "--character-set-server=utf8mb4",
        ]  # fmt: skip
        if os.geteuid() == 0:
            argv.append(f"--user={OS_USER}")
        process.start_detached(stack, NAME, argv)

    def _after_start(self, progress: Progress) -> None:
        _create_users(self.stack)

    def stop(self) -> None:
        process.stop(self.stack, NAME, timeout_s=60)


def admin_sql(stack: LocalStackSettings, sql: str) -> str:
    """Run SQL as the instance's local administrator over the socket."""
    result = subprocess.run(
        [_binary("mariadb"), f"--socket={_socket(stack)}", "-u", _local_admin(), "-N", "-B", "-e", sql],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ServiceError(f"mariadb: SQL as administrator failed: {result.stderr.strip()[-400:]}")
    return result.stdout


def _quote(secret: str) -> str:
    return "'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _create_users(stack: LocalStackSettings) -> None:
    admin_pw = _quote(stack.erp_admin_password.get_secret_value())
    cdc_pw = _quote(stack.erp_cdc_password.get_secret_value())
    admin_sql(
        stack,
        "CREATE DATABASE IF NOT EXISTS erp CHARACTER SET utf8mb4; "
        f"CREATE USER IF NOT EXISTS 'erp_admin'@'127.0.0.1' IDENTIFIED BY {admin_pw}; "
        f"ALTER USER 'erp_admin'@'127.0.0.1' IDENTIFIED BY {admin_pw}; "
        "GRANT ALL PRIVILEGES ON erp.* TO 'erp_admin'@'127.0.0.1'; "
        f"CREATE USER IF NOT EXISTS 'erp_cdc'@'127.0.0.1' IDENTIFIED BY {cdc_pw}; "
        f"ALTER USER 'erp_cdc'@'127.0.0.1' IDENTIFIED BY {cdc_pw}; "
        # SELECT on the captured tables only, granted once they exist (apply_schema); an older stack granted
        # it on *.* (which reaches mysql.*) or on erp.* (which reaches any table the ERP adds later).
        "REVOKE SELECT ON *.* FROM 'erp_cdc'@'127.0.0.1'; "
        f"GRANT {CDC_GLOBAL_PRIVILEGES} ON *.* TO 'erp_cdc'@'127.0.0.1'; "
        "FLUSH PRIVILEGES;",
    )
    if "ON `erp`.*" in admin_sql(stack, "SHOW GRANTS FOR 'erp_cdc'@'127.0.0.1'"):
        admin_sql(stack, "REVOKE SELECT ON erp.* FROM 'erp_cdc'@'127.0.0.1'")


def apply_schema(stack: LocalStackSettings) -> None:
    """The ERP tables, statement by statement (idempotent)."""
    from connectors.legacy_db import erp_connection

    text = "\n".join(line for line in SCHEMA_FILE.read_text().splitlines() if not line.lstrip().startswith("--"))
    with erp_connection(stack, autocommit=True) as erp, erp.cursor() as cur:
        for statement in (s.strip() for s in text.split(";")):
            if statement:
                cur.execute(statement)
    # The CDC user reads the tables it captures, and no other (a table the ERP adds later stays closed).
    admin_sql(stack, " ".join(f"GRANT SELECT ON erp.{table} TO 'erp_cdc'@'127.0.0.1';" for table in ERP_TABLES))
