"""Every example record in the README and in the contract document is a valid record of the contract it names
(a document that lies is worse)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from fastavro import parse_schema
from fastavro.validation import validate

from atp.settings import PROJECT_ROOT
from connectors.avro_contracts import AVRO_DIR

DOCUMENTS = {"README": PROJECT_ROOT / "README.md", "contracts": AVRO_DIR / "README.md"}
EXAMPLE = r"\(contract `([^`]+\.avsc)`\):\n\n```json\n(.*?)```"
EXAMPLES_BY_DOCUMENT = {name: re.findall(EXAMPLE, path.read_text(), flags=re.S) for name, path in DOCUMENTS.items()}
EXAMPLES = [example for examples in EXAMPLES_BY_DOCUMENT.values() for example in examples]


def decoded_to_avro(record: dict, schema: dict) -> dict:
    """The README shows dates and times as consumers see them decoded; turn them back into Python values."""
    out = dict(record)
    for field in schema["fields"]:
        kinds = field["type"] if isinstance(field["type"], list) else [field["type"]]
        logical = {k.get("logicalType") for k in kinds if isinstance(k, dict)}
        value = out.get(field["name"])
        if isinstance(value, str) and "date" in logical:
            out[field["name"]] = dt.date.fromisoformat(value)
        elif isinstance(value, str) and "timestamp-millis" in logical:
            out[field["name"]] = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return out


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_each_document_shows_an_example_of_every_output_contract(document):
    shown = {name.split("-v")[0] for name, _ in EXAMPLES_BY_DOCUMENT[document]}
    assert shown >= {"atp.availability", "atp.channel", "atp.alerts", "atp.dlq"}


@pytest.mark.parametrize(("contract", "example"), EXAMPLES, ids=[c for c, _ in EXAMPLES])
def test_each_readme_example_is_a_valid_record_of_its_contract(contract, example):
    schema = json.loads((AVRO_DIR / contract).read_text())
    record = decoded_to_avro(json.loads(example), schema)
    assert set(record) == {f["name"] for f in schema["fields"]}, "the example shows exactly the contract's fields"
    assert validate(record, parse_schema(schema), raise_errors=True)
