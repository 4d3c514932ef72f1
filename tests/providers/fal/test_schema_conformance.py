"""Our fal field mappings against fal's own published schema facts (not against our emulator).

The facts are the dated snapshot ``tests/data/schemas/fal.json`` (fal's generated endpoint
types in ``fal-ai/fal-js`` + ranges from fal's per-endpoint OpenAPI; see its ``sources``),
rebuilt by ``scripts/refresh_schemas.py``. For every mapped endpoint:

* the id is in fal's endpoint list (or is a prefix key listed in ``PREFIX_KEYS`` with a reason);
* every parameter name a mapper writes is a field of that endpoint's input schema;
* every value a mapper lets through — each enum choice it allows, the ends of each range
  it allows, every duration 1..20 s — converts to a value the schema accepts;
* every field the schema requires is written by a required mapper;
* image-list limits are no looser than the schema's ``max_items``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tarash.tarash_gateway.providers.fal.field_mappings import (
    FAL_IMAGE_SIZE_PRESETS,
    MODEL_MAPPINGS,
    PREFIX_KEYS,
)
from tarash.tarash_gateway.providers.field_mappers import FieldMapper
from tests.emulators.schemas import fal_endpoint_ids, fal_fields, load_snapshot, value_problem

MAPPED = sorted(MODEL_MAPPINGS)


class _Request:
    """A request stand-in: every field unset except the ones given."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)
        self.__dict__.setdefault("extra_params", {})
        self.__dict__.setdefault("image_list", [])

    def __getattr__(self, name: str) -> Any:
        return None


def probes(mapper: FieldMapper) -> Iterator[tuple[str, Any]]:
    """``(what was asked, value sent)`` for every sample input the mapper accepts."""
    spec = mapper.spec
    source = mapper.source_field
    samples: list[tuple[dict[str, Any], Any]] = []
    if source == "duration_seconds":
        samples = [({source: s}, s) for s in range(1, 21)]
    elif spec is not None and spec.choices:
        samples = [({source: c}, c) for c in spec.choices]
    elif spec is not None and spec.kind in ("int", "float"):
        samples = [({source: b}, b) for b in (spec.minimum, spec.maximum) if b is not None]
    elif spec is not None and spec.kind == "bool":
        samples = [({source: True}, True), ({source: False}, False)]
    if source == "size":  # image_size also follows aspect_ratio
        ratios = [*FAL_IMAGE_SIZE_PRESETS, "auto"]
        samples += [({"aspect_ratio": r}, None) for r in ratios]
        samples += [({source: "1024x768"}, "1024x768")]
    for fields, value in samples:
        try:
            out = mapper.converter(_Request(**fields), value)
        except (ValueError, TypeError):
            continue
        if out is not None:
            yield f"{fields}", out


def _never_writes(mapper: FieldMapper) -> bool:
    """A mapper whose every sample input is rejected or sends nothing."""
    spec = mapper.spec
    if mapper.source_field == "duration_seconds":
        return True
    return spec is not None and spec.choices is not None and spec.kind != "images"


def test_snapshot_records_its_sources_and_date() -> None:
    snap = load_snapshot("fal")
    types = snap["sources"]["endpoint_types"]
    assert types["repo"] == "fal-ai/fal-js" and len(types["commit"]) == 40
    assert types["commit_date"] and snap["taken"]
    assert snap["endpoint_count"] == len(snap["endpoint_ids"]) > 1000
    assert set(snap["endpoints"]) <= set(snap["endpoint_ids"])


@pytest.mark.parametrize("endpoint", MAPPED)
def test_endpoint_is_in_fals_list(endpoint: str) -> None:
    if endpoint in PREFIX_KEYS:
        assert PREFIX_KEYS[endpoint], "a prefix key needs a reason"
        assert any(e.startswith(endpoint + "/") for e in fal_endpoint_ids())
        return
    dropped = load_snapshot("fal").get("dropped", {}).get("ids", [])
    hint = " (it dropped out of fal's latest list)" if endpoint in dropped else ""
    assert endpoint in fal_endpoint_ids(), f"{endpoint} is not in fal's endpoint list{hint}"


@pytest.mark.parametrize("endpoint", [e for e in MAPPED if e not in PREFIX_KEYS])
def test_mapping_agrees_with_the_schema(endpoint: str) -> None:
    fields = fal_fields(endpoint)
    assert fields is not None, f"the snapshot has no input schema for {endpoint}"
    problems: list[str] = []
    for param, mapper in MODEL_MAPPINGS[endpoint].items():
        sent = list(probes(mapper))
        if not sent and _never_writes(mapper):
            continue  # validates a request field but sends nothing (a fixed length, a folded ratio)
        field = fields.get(param)
        if field is None:
            problems.append(f"{param}: not a field of the schema ({', '.join(fields)})")
            continue
        for asked, value in sent:
            problem = value_problem(field, value)
            if problem:
                problems.append(f"{param}: {asked} sends {value!r}: {problem}")
        if mapper.spec is not None and mapper.spec.kind == "images" and "max_items" in field:
            ours = mapper.spec.maximum
            if ours is None or ours > field["max_items"]:
                problems.append(f"{param}: we allow {ours} images, schema max {field['max_items']}")
    for name, field in fields.items():
        mapper = MODEL_MAPPINGS[endpoint].get(name)
        if field.get("required") and (mapper is None or not mapper.required):
            problems.append(f"{name}: required by the schema but not a required mapping")
    assert not problems, f"{endpoint}:\n  " + "\n  ".join(problems)


def test_probes_catch_a_wrong_enum() -> None:
    """The check itself can fail: a mapper that allows a value the schema lacks is reported."""
    from tarash.tarash_gateway.providers.field_mappers import resolution_field_mapper

    field = fal_fields("fal-ai/veo3.1/lite")
    assert field is not None
    mapper = resolution_field_mapper(("720p", "1080p", "4k"))
    bad = [sent for _, sent in probes(mapper) if value_problem(field["resolution"], sent)]
    assert bad == ["4k"]
