"""How the peer's values cross Kafka between its steps, and how its outputs are written.

Between steps (``group_by`` repartition topics) the values are our domain dataclasses, pickled:
JSON would need a converter per event class and is slower, so pickle is the cheapest honest
choice for the peer (it errs in the peer's favour). State values are pickled too
(``RocksDBOptions(dumps=pickle.dumps, loads=pickle.loads)``). Outputs are JSON (``orjson``),
not Avro: the peer does not talk to a schema registry, which again spares it work ours does.
"""

from __future__ import annotations

import pickle
from typing import Any

import orjson
from quixstreams.models import Deserializer, SerializationContext, Serializer

from atp.domain.records import AlertRecord, AvailabilityRecord, DeadLetter


class PickleSerializer(Serializer):  # type: ignore[misc]  # Quix Streams is installed in the peer's own venv
    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class PickleDeserializer(Deserializer):  # type: ignore[misc]
    def __call__(self, value: bytes, ctx: SerializationContext) -> Any:
        return pickle.loads(value)


def pickle_dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def pickle_loads(value: bytes) -> Any:
    return pickle.loads(value)


def output_dict(record: AvailabilityRecord | AlertRecord | DeadLetter) -> dict[str, Any]:
    doc = record.to_dict()
    if isinstance(record, AvailabilityRecord) and record.next_inbound_date is not None:
        doc["next_inbound_date"] = record.next_inbound_date.isoformat()
    return doc


class OrjsonSerializer(Serializer):  # type: ignore[misc]
    def __call__(self, value: Any, ctx: SerializationContext) -> bytes:
        return orjson.dumps(value)
