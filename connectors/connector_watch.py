"""Keeps ``atp_connector_running`` up to date: 1 while a Debezium connector and its tasks are RUNNING.

A connector that stopped or failed captures nothing, and nothing downstream can tell
(availability simply stops changing): this gauge is what the `ConnectorNotRunning`
alert in ``infra/observability/alerts.yml`` pages on.
"""

from __future__ import annotations

import logging
import threading

from atp.metrics import CONNECTOR_RUNNING
from atp.settings import LocalStackSettings
from connectors.cdc_connectors import ERP_CONNECTOR, POS_CONNECTOR, connector_states

log = logging.getLogger("atp.connectors")


class ConnectorWatcher(threading.Thread):
    def __init__(self, stack: LocalStackSettings, every_s: float = 10.0) -> None:
        super().__init__(name="connector-watch", daemon=True)
        self.stack, self.every_s = stack, every_s
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.check()
            self.stop.wait(self.every_s)

    def check(self) -> None:
        try:
            states = connector_states(self.stack)
        except Exception as exc:  # noqa: BLE001 - Connect itself down: every connector counts as not running
            log.warning("kafka connect did not answer: %s", exc)
            states = {}
        for name in sorted({ERP_CONNECTOR, POS_CONNECTOR, *states}):
            running = states.get(name) == "RUNNING"
            CONNECTOR_RUNNING.labels(name).set(1 if running else 0)
            if not running:
                log.warning("connector not running: %s", states.get(name, "not registered"), extra={"connector": name})
