"""A consumer-group member that rejoins with a new consumer when it has lost its group.

After a broker restart, librdkafka's consumer can lose its group coordinator and never
find it again: its session times out, its partitions are revoked, and it logs
``GroupCoordinator: Timed out ... 1 out-queue`` every minute while consuming nothing
(seen in the supervisor's log after the chaos test restarted the broker: partner
webhooks stopped until the pipeline was restarted). A member with no partition for
``stall_s`` is replaced by a new consumer of the same group: it resumes from the
group's committed offsets, so nothing is skipped, and what is offered again is
dropped downstream (webhooks by version, the store by ``ReplacingMergeTree``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

log = logging.getLogger("atp.kafka")

STALL_S = 30.0


class GroupConsumer:
    """Subscribes ``topics`` in group ``config["group.id"]``; ``consume`` rejoins when the member is stranded."""

    def __init__(
        self,
        config: dict[str, Any],
        topics: list[str],
        stall_s: float = STALL_S,
        new_consumer: Callable[[dict[str, Any]], Consumer] = Consumer,
    ) -> None:
        self._config = config
        self._topics = topics
        self._stall_s = stall_s
        self._new_consumer = new_consumer
        self._consumer = self._join()
        self._unassigned_since: float | None = time.monotonic()

    def _join(self) -> Consumer:
        consumer = self._new_consumer(self._config)
        consumer.subscribe(self._topics)
        return consumer

    def consume(self, count: int, timeout_s: float) -> list[Message]:
        messages: list[Message] = self._consumer.consume(count, timeout_s)
        self._check_membership()
        return messages

    def _check_membership(self) -> None:
        now = time.monotonic()
        if self._consumer.assignment():
            self._unassigned_since = None
            return
        if self._unassigned_since is None:
            self._unassigned_since = now
            return
        if now - self._unassigned_since < self._stall_s:
            return
        group = self._config.get("group.id")
        log.warning(
            "consumer of group %s has had no partition for %.0f s (its group coordinator is lost, as after a "
            "broker restart): rejoining with a new consumer",
            group,
            now - self._unassigned_since,
        )
        stranded, self._consumer = self._consumer, self._join()
        self._unassigned_since = now
        # Closing a member that lost its coordinator can block on that coordinator: let it close on its own.
        threading.Thread(target=stranded.close, name=f"close-{group}", daemon=True).start()

    def commit(self, offsets: list[TopicPartition]) -> None:
        """Commit ``offsets`` in the background (the next commit carries them again if this one fails)."""
        self._consumer.commit(offsets=offsets, asynchronous=True)

    def commit_consumed(self) -> None:
        """Commit what has been consumed so far, in the background.

        Never a synchronous commit: with its coordinator lost (after a broker restart) it blocks for good,
        and the member can then never notice it is stranded (the store loader stopped loading that way).
        A commit that fails leaves the offsets where they were: the records come again, and collapse.
        """
        self._consumer.commit(asynchronous=True)

    def close(self) -> None:
        self._consumer.close()
