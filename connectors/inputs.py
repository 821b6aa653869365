"""Every input topic's decoder behind one entry point: a Kafka message in, a ``Read`` out.

The dataflow (``flows.process`` hands ``decode_input`` to the topology) and the bench's Quix
peer use this one dispatch, so both read every topic the same way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from atp.domain.inputs import Read
from atp.domain.records import DeadLetter
from connectors import topics
from connectors.cdc.decode import TRANSACTION_TOPICS, decode_boundary, decode_change, masked_payload, source_of_topic
from connectors.repairs import decode_repair
from connectors.reservations import decode_reservation
from connectors.wishlist import decode_wish

if TYPE_CHECKING:  # the bench's Quix peer decodes with this module and has no Bytewax
    from bytewax.connectors.kafka import KafkaError


def decode_input(topic: str, partition: int, offset: int, value: bytes | None, now_ms: int) -> Read:
    """What one message of an input topic says, or why it cannot be used."""
    if topic == topics.RESERVATIONS:
        return Read(topic, partition, offset, decode_reservation(topic, partition, offset, value, now_ms))
    if topic == topics.WISHLIST:
        return Read(topic, partition, offset, decode_wish(topic, partition, offset, value, now_ms))
    if topic == topics.RECONCILE:
        return Read(topic, partition, offset, decode_repair(topic, partition, offset, value, now_ms))
    if topic in TRANSACTION_TOPICS:
        decoded = decode_boundary(topic, partition, offset, value, now_ms)
    else:
        decoded = decode_change(topic, partition, offset, value, now_ms)
    return Read(topic, partition, offset, decoded, source_of_topic(topic))


def consumer_error(error: KafkaError[bytes | None, bytes | None], now_ms: int) -> DeadLetter:
    """The dead letter of a message the Kafka consumer could not hand over (its payload masked)."""
    msg = error.msg
    return DeadLetter(
        source_topic=msg.topic or "",
        partition=msg.partition or 0,
        offset=msg.offset or -1,
        reason="consumer_error",
        error=str(error.err),
        payload=masked_payload(msg.value),
        at_ms=now_ms,
    )
