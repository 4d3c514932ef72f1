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

from typing import Any

import pytest

from tarash.tarash_gateway.providers.fal.field_mappings import (
    FAL_IMAGE_SIZE_PRESETS,
    MODEL_MAPPINGS,
    PREFIX_KEYS,
)
from tests.emulators.fal import FalEmulator
from tests.emulators.schemas import (
    fal_endpoint_ids,
    fal_fields,
    load_snapshot,
    never_writes,
    probes,
    value_problem,
)

MAPPED = sorted(MODEL_MAPPINGS)
# image_size follows aspect_ratio too: probe every ratio and one explicit size
_SIZE_PROBES = [
    *({"aspect_ratio": r} for r in [*FAL_IMAGE_SIZE_PRESETS, "auto"]),
    {"size": "1024x768"},
]


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
    snap = load_snapshot("fal")
    hint = ""
    if endpoint in snap.get("dropped", {}).get("ids", []):
        hint = " (it dropped out of fal's latest list)"
    elif endpoint in snap.get("listed_elsewhere", {}).get("ids", []):
        hint = " (fal's OpenAPI-derived types listed it earlier; refresh online to confirm)"
    assert endpoint in fal_endpoint_ids(), f"{endpoint} is not in fal's endpoint list{hint}"


@pytest.mark.parametrize("endpoint", [e for e in MAPPED if e not in PREFIX_KEYS])
def test_mapping_agrees_with_the_schema(endpoint: str) -> None:
    fields = fal_fields(endpoint)
    assert fields is not None, f"the snapshot has no input schema for {endpoint}"
    problems: list[str] = []
    for param, mapper in MODEL_MAPPINGS[endpoint].items():
        sent = list(probes(mapper, _SIZE_PROBES if mapper.source_field == "size" else ()))
        if not sent and never_writes(mapper):
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


# --------------------------------------------------------------------------- the emulator's rules


def _post(emu: FalEmulator, path: str, body: Any) -> Any:
    import httpx

    from tests.emulators.fal import FAL_API_KEY

    return httpx.post(
        emu.url(path), json=body, headers={"Authorization": f"Key {FAL_API_KEY}"}, timeout=5
    )


def test_emulator_rejects_an_endpoint_fal_does_not_list(fal: FalEmulator) -> None:
    # dropped out of fal's latest list (fal-js endpoints.ts @381105e)
    answer = _post(fal, "/fal-ai/veo3/fast", {"prompt": "p"})
    assert answer.status_code == 404
    assert answer.json() == {"detail": "Application 'fal-ai/veo3/fast' not found"}
    assert fal.jobs == {}


def test_emulator_rejects_an_enum_value_as_fal_does(fal: FalEmulator) -> None:
    answer = _post(fal, "/fal-ai/veo3.1/lite", {"prompt": "p", "resolution": "4k"})
    assert answer.status_code == 422
    assert answer.headers["X-Fal-Retryable"] == "false"
    (item,) = answer.json()["detail"]
    assert item["loc"] == ["body", "resolution"]
    assert item["type"] == "literal_error"
    assert item["msg"] == "Input should be '720p' or '1080p'"
    assert item["input"] == "4k"


def test_emulator_rejects_missing_required_and_out_of_range(fal: FalEmulator) -> None:
    answer = _post(fal, "fal-ai/flux/dev", {"num_images": 5})
    assert answer.status_code == 422
    items = {tuple(d["loc"]): d for d in answer.json()["detail"]}
    assert items[("body", "prompt")]["type"] == "missing"
    assert "maximum 4" in items[("body", "num_images")]["msg"]


def test_emulator_accepts_a_valid_input_and_an_admitted_new_endpoint(fal: FalEmulator) -> None:
    ok = _post(fal, "fal-ai/veo3.1/lite", {"prompt": "p", "resolution": "1080p", "x": 1})
    assert ok.status_code == 200 and ok.json()["request_id"] in fal.jobs
    assert _post(fal, "fal-ai/brand-new/v1", {"prompt": "p"}).status_code == 404
    fal.add_endpoint("fal-ai/brand-new/v1")
    assert _post(fal, "fal-ai/brand-new/v1", {"prompt": "p"}).status_code == 200


async def test_a_bad_extra_param_reaches_the_emulator_and_fails_like_fal(fal: FalEmulator) -> None:
    from tarash.tarash_gateway import generate_video_async
    from tarash.tarash_gateway.exceptions import ValidationError
    from tarash.tarash_gateway.models import VideoGenerationRequest
    from tests.providers.fal.conftest import video_config

    request = VideoGenerationRequest(prompt="p", extra_params={"safety_tolerance": "9"})
    with pytest.raises(ValidationError) as info:
        await generate_video_async(video_config(fal, "fal-ai/veo3.1"), request)
    assert info.value.field == "safety_tolerance"
    assert info.value.retryable is False


def test_docs_model_tables_are_generated_from_the_mappings() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[3] / "scripts" / "model_tables.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_fresh_checks_are_logged_against_the_snapshot_source() -> None:
    snap = load_snapshot("fal")
    checks = snap.get("fresh_checks", [])
    assert checks, "run refresh_schemas.py fal --check --record after a fresh check"
    last = checks[-1]
    assert last["date"] >= snap["taken"]
    assert last["against"]["commit"] == snap["sources"]["endpoint_types"]["commit"]
    if "--check" in last["how"]:  # a logged check (not a refresh) found the snapshot current
        assert last["differences"] == 0, last["first_differences"]
