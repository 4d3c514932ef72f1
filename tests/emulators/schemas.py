"""The dated provider-schema snapshots (``tests/data/schemas/*.json``) and checks against them.

One loader for both users of the snapshots, so they cannot drift apart:

* the conformance tests (``tests/providers/{fal,replicate}/test_schema_conformance.py``)
  compare our field mappings with the facts;
* the fal and Replicate emulators validate submitted inputs with :func:`input_problems`,
  so they reject what the real API rejects.

The snapshots are written by ``scripts/refresh_schemas.py`` from the providers' own
machine-readable sources; each records its source (repository + path + commit, or URL)
and the date it was taken. Nothing here reads the network.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from tarash.tarash_gateway.providers.field_mappers import FieldMapper

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "data" / "schemas"


@cache
def load_snapshot(provider: str) -> dict[str, Any]:
    """The parsed snapshot of ``provider`` (``fal`` or ``replicate``)."""
    return dict(json.loads((SCHEMA_DIR / f"{provider}.json").read_text(encoding="utf-8")))


@cache
def fal_endpoint_ids() -> frozenset[str]:
    """Every endpoint id fal lists: its generated endpoint list, plus its active-model list
    when the snapshot was refreshed with one (``active_models``)."""
    snap = load_snapshot("fal")
    active = snap.get("active_models", {}).get("ids", [])
    return frozenset(snap["endpoint_ids"]) | frozenset(active)


def fal_fields(endpoint: str) -> dict[str, Any] | None:
    """The input fields of a fal endpoint, or ``None`` when the snapshot has no detail for it."""
    entry = load_snapshot("fal")["endpoints"].get(endpoint)
    return None if entry is None else dict(entry["fields"])


def replicate_fields(model: str) -> dict[str, Any] | None:
    """The input fields of a Replicate model, or ``None`` when unverified / unknown."""
    entry = load_snapshot("replicate")["models"].get(model)
    if entry is None or entry.get("unverified"):
        return None
    return dict(entry["fields"])


def _kinds(field: dict[str, Any]) -> set[str]:
    return set(str(field.get("type", "any")).split("|"))


def value_problem(field: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` is not accepted by one snapshot field (``None`` when it is)."""
    kinds = _kinds(field)
    if value is None:
        return None
    if "any" in kinds or "ref" in kinds:
        return None
    if isinstance(value, bool):
        if "boolean" not in kinds and "enum" not in kinds:
            return f"expected {field['type']}, got a boolean"
    elif isinstance(value, int | float):
        if not ({"number", "enum"} & kinds):
            return f"expected {field['type']}, got a number"
        if field.get("integer") and not float(value).is_integer():
            return f"expected an integer, got {value!r}"
        if isinstance(value, float) and not math.isfinite(value):
            return f"expected a finite number, got {value!r}"
        for key, ok in (
            ("minimum", lambda v, b: v >= b),
            ("maximum", lambda v, b: v <= b),
            ("exclusive_minimum", lambda v, b: v > b),
            ("exclusive_maximum", lambda v, b: v < b),
        ):
            if key in field and not ok(value, field[key]):
                return f"{value!r} is outside the range ({key.replace('_', ' ')} {field[key]})"
    elif isinstance(value, str):
        if not ({"string", "file", "enum"} & kinds):
            return f"expected {field['type']}, got a string"
    elif isinstance(value, list):
        if "array" not in kinds:
            return f"expected {field['type']}, got a list"
        if "max_items" in field and len(value) > field["max_items"]:
            return f"at most {field['max_items']} items, got {len(value)}"
        if "min_items" in field and len(value) < field["min_items"]:
            return f"at least {field['min_items']} items, got {len(value)}"
        items = field.get("items")
        if isinstance(items, dict):
            for item in value:
                problem = value_problem(items, item)
                if problem:
                    return f"item {item!r}: {problem}"
        return None
    elif isinstance(value, dict):
        if "object" not in kinds:
            return f"expected {field['type']}, got an object"
        return None
    enum = field.get("enum")
    if enum is not None and not isinstance(value, dict | list) and value not in enum:
        # an object alternative (``ImageSize | "square_hd" | ...``) only takes objects
        return f"{value!r} is not one of {', '.join(map(str, enum))}"
    return None


def input_problems(
    fields: dict[str, Any], payload: dict[str, Any], *, allow_extra: bool = True
) -> list[dict[str, Any]]:
    """Every problem of ``payload`` against ``fields``: ``[{"field", "message", "type"}]``.

    Unknown fields are reported only with ``allow_extra=False`` (fal's and Replicate's
    input models ignore fields they do not declare).
    """
    problems: list[dict[str, Any]] = []
    for name, field in fields.items():
        if field.get("required") and payload.get(name) in (None, "", []):
            problems.append({"field": name, "message": "Field required", "type": "missing"})
    for name, value in payload.items():
        field = fields.get(name)
        if field is None:
            if allow_extra:
                continue
            problems.append(
                {"field": name, "message": "Extra inputs are not permitted", "type": "extra"}
            )
            continue
        problem = value_problem(field, value)
        if problem:
            kind = "enum" if "not one of" in problem else "value_error"
            problems.append({"field": name, "message": problem, "type": kind, "input": value})
    return problems


# --------------------------------------------------------------------------- probing mappers


class ProbeRequest:
    """A request stand-in: every field unset except the ones given."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)
        self.__dict__.setdefault("extra_params", {})
        self.__dict__.setdefault("image_list", [])

    def __getattr__(self, name: str) -> Any:
        return None


def probes(mapper: FieldMapper, extra: Sequence[dict[str, Any]] = ()) -> Iterator[tuple[str, Any]]:
    """``(what was asked, value sent)`` for every sample input the mapper accepts.

    Samples: every duration 1..20 s, each enum choice, each range end, both booleans,
    and ``extra`` request fields (e.g. aspect ratios an ``image_size`` mapper follows).
    """
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
    for fields in extra:
        samples.append((fields, fields.get(source)))
    for fields, value in samples:
        try:
            out = mapper.converter(ProbeRequest(**fields), value)
        except (ValueError, TypeError):
            continue
        if out is not None:
            yield f"{fields}", out


def never_writes(mapper: FieldMapper) -> bool:
    """A mapper whose every sample input is rejected or sends nothing."""
    spec = mapper.spec
    if mapper.source_field == "duration_seconds":
        return True
    return spec is not None and spec.choices is not None and spec.kind != "images"
