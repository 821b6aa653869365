"""A consumer-group member stranded without partitions rejoins with a new consumer (after a broker restart)."""

from __future__ import annotations

import time

from connectors.group_consumer import GroupConsumer


class Member:
    """Stands in for librdkafka's consumer: which partitions it holds, and whether it was closed."""

    made: list[Member] = []

    def __init__(self, config: dict) -> None:
        self.partitions: list[str] = []
        self.closed = False
        Member.made.append(self)

    def subscribe(self, topics: list[str]) -> None:
        self.topics = topics

    def consume(self, count: int, timeout_s: float) -> list:
        return []

    def assignment(self) -> list[str]:
        return self.partitions

    def close(self) -> None:
        self.closed = True


def test_a_member_without_partitions_for_too_long_is_replaced_and_the_stranded_one_closed():
    Member.made = []
    group = GroupConsumer({"group.id": "atp-webhooks"}, ["atp.channel.shopify"], stall_s=0.05, new_consumer=Member)
    group.consume(10, 0.0)
    time.sleep(0.06)
    group.consume(10, 0.0)
    assert len(Member.made) == 2 and Member.made[1].topics == ["atp.channel.shopify"]
    deadline = time.monotonic() + 2
    while not Member.made[0].closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert Member.made[0].closed


def test_a_member_holding_partitions_is_kept():
    Member.made = []
    group = GroupConsumer({"group.id": "atp-store-loader"}, ["atp.availability"], stall_s=0.05, new_consumer=Member)
    Member.made[0].partitions = ["atp.availability[0]"]
    group.consume(10, 0.0)
    time.sleep(0.06)
    group.consume(10, 0.0)
    assert len(Member.made) == 1
