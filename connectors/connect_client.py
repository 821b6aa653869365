"""A small typed client for Kafka Connect's REST API (stdlib urllib; every failure is a ServiceError).

The local worker asks for HTTP basic auth (``infra.connect``); :func:`connectors.cdc_connectors.connect_client`
gives a client with the stack's credential.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from typing import Any

import orjson

from atp.errors import ServiceError


class ConnectClient:
    def __init__(self, url: str, credentials: tuple[str, str] | None = None, timeout_s: float = 15.0) -> None:
        """``credentials``: (user, password) for HTTP basic auth, sent with every request."""
        self._url = url.rstrip("/")
        self._timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json"}
        if credentials is not None:
            token = base64.b64encode(f"{credentials[0]}:{credentials[1]}".encode()).decode()
            self._headers["Authorization"] = f"Basic {token}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = orjson.dumps(body) if body is not None else None
        request = urllib.request.Request(self._url + path, data=data, method=method, headers=self._headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise ServiceError(f"kafka connect: {method} {path} answered {exc.code}: {detail}") from exc
        except OSError as exc:
            raise ServiceError(f"kafka connect at {self._url} unreachable: {exc}") from exc
        return orjson.loads(raw) if raw else None

    def plugins(self) -> set[str]:
        """The connector classes the worker offers (GET /connector-plugins)."""
        return {p["class"] for p in self._call("GET", "/connector-plugins")}

    def config(self, name: str) -> dict[str, str]:
        config: dict[str, str] = self._call("GET", f"/connectors/{name}/config")
        return config

    def connectors(self) -> list[str]:
        """Names of the registered connectors (GET /connectors)."""
        names: list[str] = self._call("GET", "/connectors")
        return names

    def put_config(self, name: str, config: dict[str, str]) -> None:
        """Create the connector or update its config (idempotent).

        A worker that is still joining its group answers 409 (rebalance in progress): retry for a while.
        """
        deadline = time.monotonic() + self._timeout_s
        while True:
            try:
                self._call("PUT", f"/connectors/{name}/config", config)
                return
            except ServiceError as exc:
                if " 409:" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def status(self, name: str) -> dict[str, Any]:
        status: dict[str, Any] = self._call("GET", f"/connectors/{name}/status")
        return status

    def restart(self, name: str) -> None:
        self._call("POST", f"/connectors/{name}/restart?includeTasks=true&onlyFailed=true")

    def delete(self, name: str) -> None:
        self._call("DELETE", f"/connectors/{name}")

    def wait_running(self, name: str, timeout_s: float = 120.0) -> None:
        """Until the connector and all its tasks are RUNNING; a FAILED task fails at once with its trace."""
        deadline = time.monotonic() + timeout_s
        state = "unknown"
        while time.monotonic() < deadline:
            try:
                status = self.status(name)
            except ServiceError:
                time.sleep(0.5)
                continue
            tasks = status.get("tasks", [])
            states = [status["connector"]["state"]] + [t["state"] for t in tasks]
            failed = [t for t in tasks if t["state"] == "FAILED"]
            if status["connector"]["state"] == "FAILED" or failed:
                what = f"task {failed[0]['id']}" if failed else "connector"
                trace = (failed[0] if failed else status["connector"]).get("trace", "")
                first_lines = " | ".join(trace.strip().splitlines()[:2])
                raise ServiceError(f"connector {name} FAILED ({what}): {first_lines}")
            if tasks and all(s == "RUNNING" for s in states):
                return
            state = ",".join(states)
            time.sleep(0.5)
        raise ServiceError(f"connector {name} not RUNNING within {timeout_s:.0f}s (states: {state})")
