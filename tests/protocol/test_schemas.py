"""The checked-in JSON Schemas must equal what the models generate."""

import json
import shutil

import jsonschema
import pytest

from protocol import TestReadingEvent, generate_private_key, seal
from protocol.schemas import SCHEMA_DIR, SCHEMA_MODELS, schema_filename, stale_files, write_all

from .samples import reading_event


def test_checked_in_schemas_match_the_models():
    assert stale_files() == [], "run: python -m protocol.schemas"


def test_drift_is_detected(tmp_path):
    copy = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, copy)
    target = copy / schema_filename("ack")
    schema = json.loads(target.read_text())
    schema["properties"]["acked_seq"]["minimum"] = 1
    target.write_text(json.dumps(schema, indent=2))
    (copy / "orphan.v1.schema.json").write_text("{}")
    assert stale_files(copy) == [schema_filename("ack"), "orphan.v1.schema.json"]
    write_all(copy)
    assert stale_files(copy) == []


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_schemas_are_valid_json_schema(name):
    schema = json.loads((SCHEMA_DIR / schema_filename(name)).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_a_sealed_message_validates_against_its_schema():
    _, payload = seal(TestReadingEvent, reading_event(), generate_private_key())
    schema = json.loads((SCHEMA_DIR / schema_filename("event-test")).read_text())
    jsonschema.Draft202012Validator(schema).validate(json.loads(payload))
