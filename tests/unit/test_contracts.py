"""Every contract version kept in schemas/avro is FULL-compatible with every earlier one (connectors/contract_check.py).

A breaking change fails here, naming the field, before the registry ever refuses it.
"""

from __future__ import annotations

import copy
import itertools
import json

import pytest

from connectors.avro_contracts import AVRO_DIR
from connectors.contract_check import contract_versions, incompatibilities

CONTRACTS = contract_versions(AVRO_DIR)
PAIRS = [
    (contract, older, newer)
    for contract, paths in CONTRACTS.items()
    for older, newer in itertools.combinations(paths, 2)
]


def load(path):
    return json.loads(path.read_text())


def test_every_output_contract_has_a_version_file():
    assert {"atp.availability", "atp.dlq", "atp.alerts", "atp.channel"} <= set(CONTRACTS)


@pytest.mark.parametrize(("contract", "older", "newer"), PAIRS, ids=[f"{c}:{o.stem}->{n.stem}" for c, o, n in PAIRS])
def test_each_version_is_fully_compatible_with_every_earlier_one(contract, older, newer):
    problems = incompatibilities(load(older), load(newer))
    assert not problems, f"{newer.name} breaks {older.name}: " + "; ".join(problems)


def channel_v1():
    return load(AVRO_DIR / "atp.channel-v1.avsc")


def test_adding_a_field_without_a_default_is_named():
    new = channel_v1()
    new["fields"].append({"name": "warehouse", "type": "string"})
    assert incompatibilities(channel_v1(), new) == [
        "backward (new reader, old records): field 'warehouse' is missing from the records and has no default"
    ]


def test_removing_a_field_without_a_default_is_named():
    new = channel_v1()
    new["fields"] = [f for f in new["fields"] if f["name"] != "available"]
    assert incompatibilities(channel_v1(), new) == [
        "forward (old reader, new records): field 'available' is missing from the records and has no default"
    ]


def test_changing_a_type_or_dropping_an_enum_symbol_is_named():
    new = channel_v1()
    next(f for f in new["fields"] if f["name"] == "available")["type"] = "string"
    status = next(f for f in new["fields"] if f["name"] == "status")
    status["type"] = copy.deepcopy(status["type"])
    status["type"]["symbols"].remove("PREORDER")
    problems = incompatibilities(channel_v1(), new)
    assert any("field 'available': type changed from long to string" in p for p in problems)
    assert any("field 'status': enum symbol(s) ['PREORDER']" in p for p in problems)


def test_an_optional_field_with_a_default_is_compatible_both_ways():
    new = channel_v1()
    new["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
    assert incompatibilities(channel_v1(), new) == []
