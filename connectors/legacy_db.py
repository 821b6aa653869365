"""Connections to the two legacy databases (demo, tests, reconciliation, CDC grants).

The pipeline itself never writes to them: only the demo driver, the tests and
the benchmark load driver do, as the retailer's own tools would.

Users (created by ``infra``):
- ERP (MariaDB, database ``erp``): ``erp_admin`` owns the tables; ``erp_cdc`` may only
  read them and the binlog.
- POS (PostgreSQL, database ``pos``): ``pos_admin`` owns the tables; ``pos_cdc`` may only
  read the captured tables and stream logical replication.
"""

from __future__ import annotations

from typing import Literal

import psycopg
import pymysql

from atp.settings import LocalStackSettings

Role = Literal["admin", "cdc"]


def erp_connection(
    stack: LocalStackSettings, role: Role = "admin", autocommit: bool = False
) -> pymysql.connections.Connection:
    password = stack.erp_admin_password if role == "admin" else stack.erp_cdc_password
    return pymysql.connect(
        host="127.0.0.1",
        port=stack.mariadb_port,
        user=f"erp_{role}",
        password=password.get_secret_value(),
        database="erp",
        autocommit=autocommit,
        connect_timeout=5,
    )


def pos_connection(stack: LocalStackSettings, role: Role = "admin", autocommit: bool = False) -> psycopg.Connection:
    password = stack.pos_admin_password if role == "admin" else stack.pos_cdc_password
    return psycopg.connect(
        host="127.0.0.1",
        port=stack.postgres_port,
        user=f"pos_{role}",
        password=password.get_secret_value(),
        dbname="pos",
        autocommit=autocommit,
        connect_timeout=5,
    )
