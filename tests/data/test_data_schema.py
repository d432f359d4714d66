"""CohortSchema, Descriptor and Modality: validation and JSON round-trip."""
from __future__ import annotations

import json

import pytest

from lnfusion.data import DEFAULT_CLASSES, DEFAULT_MODALITIES, CohortSchema, Descriptor, Modality
from lnfusion.exceptions import SchemaError


def test_defaults_follow_the_project_vocabulary():
    schema = CohortSchema()
    assert schema.classes == DEFAULT_CLASSES == ("metastatic", "lymphoma", "benign")
    assert tuple(schema.modalities) == ("bmode", "cdfi", "elasto")
    assert [m.colour for m in DEFAULT_MODALITIES.values()] == [False, True, True]
    assert schema.roi_column("cdfi") == "cdfi_roi"
    assert schema.class_index("benign") == 2


def test_json_round_trip(tmp_path, schema):
    path = schema.save(tmp_path / "schema.json")
    data = json.loads(path.read_text())
    assert data["descriptors"]["elasto_score"] == {"kind": "ordinal", "levels": [1, 2, 3, 4, 5],
                                                   "description": ""}
    again = CohortSchema.from_json(path)
    assert again == schema
    assert again.descriptors["elasto_score"].levels == (1, 2, 3, 4, 5)
    assert isinstance(again.modalities["cdfi"], Modality) and again.modalities["cdfi"].colour


@pytest.mark.parametrize("kwargs, match", [
    (dict(kind="nominal"), "not one of"),
    (dict(kind="categorical"), "needs levels"),
    (dict(kind="categorical", levels=()), "at least one level"),
    (dict(kind="ordinal", levels=(1, 1, 2)), "repeat"),
    (dict(kind="continuous", levels=(1, 2)), "takes no levels"),
])
def test_invalid_descriptor(kwargs, match):
    with pytest.raises(SchemaError, match=match):
        Descriptor(**kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(classes=("a",)), "at least two classes"),
    (dict(classes=("a", "a")), "repeat"),
    (dict(modalities={}), "at least one modality"),
    (dict(descriptors={"label": Descriptor("continuous")}), "used both as label and as descriptor"),
    (dict(descriptors={"bmode_roi": Descriptor("continuous")}), "ROI column"),
    (dict(patient=""), "patient must be a non-empty column name"),
])
def test_invalid_schema(kwargs, match):
    with pytest.raises(SchemaError, match=match):
        CohortSchema(**kwargs)


def test_from_json_errors_name_the_file(tmp_path):
    bad = tmp_path / "schema.json"
    bad.write_text("{not json")
    with pytest.raises(SchemaError, match="schema.json: not valid JSON"):
        CohortSchema.from_json(bad)
    bad.write_text(json.dumps({"classes": ["a", "b"], "colour": True}))
    with pytest.raises(SchemaError, match=r"schema.json: .*unknown setting\(s\) \['colour'\]"):
        CohortSchema.from_json(bad)
    bad.write_text(json.dumps({"descriptors": {"x": {"kind": "weird"}}}))
    with pytest.raises(SchemaError, match="schema.json: .*'weird'"):
        CohortSchema.from_json(bad)
