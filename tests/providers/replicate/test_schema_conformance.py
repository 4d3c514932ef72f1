"""Our Replicate field mappings against the models' published input schemas (not our emulator).

The facts are the dated snapshot ``tests/data/schemas/replicate.json``: per model the
version it was read from (``source.url`` / ``source.version``) and its ``Input`` fields, or
``"unverified": true`` with the reason when no copy of the schema could be found (then
nothing is claimed about it). ``scripts/refresh_schemas.py replicate`` rebuilds it from
``GET /v1/models/{owner}/{name}`` (``latest_version.openapi_schema``) with a token.

For every verified model: each input name a mapper writes is a field of the schema (unless
the snapshot is ``partial`` and does not show that field), and every value a mapper lets
through is accepted by the field (enum options and ranges where the source lists them).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tarash.tarash_gateway import generate_image_async
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.models import ImageGenerationConfig, ImageGenerationRequest
from tarash.tarash_gateway.providers.replicate.field_mappings import MODEL_MAPPINGS
from tests.conftest import FAST_RETRY
from tests.emulators.harness import emulator_fixture
from tests.emulators.replicate import REPLICATE_API_KEY, ReplicateEmulator
from tests.emulators.schemas import (
    load_snapshot,
    never_writes,
    probes,
    replicate_fields,
    value_problem,
)

MODELS = load_snapshot("replicate")["models"]
VERIFIED = sorted(m for m in MODEL_MAPPINGS if m in MODELS and not MODELS[m].get("unverified"))
# sizes some mappers take (flux-1.1-pro width/height, ideogram resolution, recraft size)
_SIZE_PROBES: list[dict[str, Any]] = [
    {"size": s} for s in ("256x1440", "1440x256", "512x512", "1024x1024", "1536x1536")
]


def test_snapshot_records_its_sources_and_date() -> None:
    snap = load_snapshot("replicate")
    assert snap["taken"] and snap["sources"]
    for model, entry in snap["models"].items():
        if entry.get("unverified"):
            assert entry["reason"], model
        else:
            assert entry["source"]["version"] and entry["source"]["url"].startswith("https://")
            assert entry["source"]["taken"], model


@pytest.mark.parametrize("model", sorted(MODEL_MAPPINGS))
def test_every_mapped_model_is_in_the_snapshot(model: str) -> None:
    assert model in MODELS, f"{model}: add it to tests/data/schemas/replicate.json"


@pytest.mark.parametrize("model", VERIFIED)
def test_mapping_agrees_with_the_schema(model: str) -> None:
    fields = replicate_fields(model)
    assert fields is not None
    partial = bool(MODELS[model].get("partial"))
    problems: list[str] = []
    for param, mapper in MODEL_MAPPINGS[model].items():
        sent = list(probes(mapper, _SIZE_PROBES if mapper.source_field == "size" else ()))
        if not sent and never_writes(mapper):
            continue
        field = fields.get(param)
        if field is None:
            if not partial:
                problems.append(f"{param}: not a field of the schema ({', '.join(fields)})")
            continue
        for asked, value in sent:
            problem = value_problem(field, value)
            if problem:
                problems.append(f"{param}: {asked} sends {value!r}: {problem}")
    assert not problems, f"{model}:\n  " + "\n  ".join(problems)


def test_the_check_can_fail() -> None:
    """A value outside a listed enum is reported (the probe is not a formality)."""
    fields = replicate_fields("ideogram-ai/ideogram-v3-quality")
    assert fields is not None
    assert value_problem(fields["resolution"], "512x512") is not None
    assert value_problem(fields["resolution"], "1024x1024") is None


# --------------------------------------------------------------------------- the emulator's rules

replicate = emulator_fixture(ReplicateEmulator, scope="module")


def _create(emu: ReplicateEmulator, model: str, inputs: dict[str, Any]) -> Any:
    return httpx.post(
        emu.url(f"/v1/models/{model}/predictions"),
        json={"input": inputs},
        headers={"Authorization": f"Bearer {REPLICATE_API_KEY}"},
        timeout=5,
    )


def test_emulator_rejects_a_value_outside_the_schema_enum(replicate: ReplicateEmulator) -> None:
    answer = _create(
        replicate, "black-forest-labs/flux-1.1-pro", {"prompt": "p", "output_format": "gif"}
    )
    assert answer.status_code == 422
    body = answer.json()
    assert body["status"] == 422 and body["title"] == "Input validation failed"
    assert body["invalid_fields"][0]["field"] == "input.output_format"
    assert body["invalid_fields"][0]["type"] == "enum"
    assert replicate.jobs == {}


def test_emulator_rejects_out_of_range_and_accepts_valid(replicate: ReplicateEmulator) -> None:
    bad = _create(replicate, "black-forest-labs/flux-1.1-pro", {"prompt": "p", "width": 4096})
    assert bad.status_code == 422
    assert "maximum 1440" in bad.json()["invalid_fields"][0]["description"]
    ok = _create(
        replicate,
        "black-forest-labs/flux-1.1-pro",
        {"prompt": "p", "aspect_ratio": "custom", "width": 1024, "height": 768},
    )
    assert ok.status_code == 201
    # a model the snapshot does not verify is accepted as sent
    assert _create(replicate, "someone/new-model", {"prompt": "p", "x": 1}).status_code == 201


async def test_a_bad_extra_param_fails_like_replicate(replicate: ReplicateEmulator) -> None:
    config = ImageGenerationConfig(
        provider="replicate",
        model="black-forest-labs/flux-1.1-pro",
        api_key=REPLICATE_API_KEY,
        base_url=replicate.base_url,
        timeout=20,
        retry=FAST_RETRY,
        poll_interval=0.05,
    )
    request = ImageGenerationRequest(prompt="p", extra_params={"safety_tolerance": 9})
    with pytest.raises(ValidationError) as info:
        await generate_image_async(config, request)
    assert info.value.field == "safety_tolerance"


def test_newly_verified_sources_are_recorded_with_their_facts() -> None:
    # flux-schnell / flux-dev come from Replicate's own cog source (replicate/cog-flux
    # predict.py, newest stored commit 51e81e03, 2025-07-31), checked 2026-12-04.
    for model in ("black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"):
        source = MODELS[model]["source"]
        assert "replicate/cog-flux" in source["url"] and "51e81e03" in source["url"]
    schnell = replicate_fields("black-forest-labs/flux-schnell")
    assert schnell is not None
    assert schnell["num_inference_steps"]["maximum"] == 4
    assert "3:4" in schnell["aspect_ratio"]["enum"] and "4:3" in schnell["aspect_ratio"]["enum"]
    assert value_problem(schnell["megapixels"], "2") is not None
    dev = replicate_fields("black-forest-labs/flux-dev")
    assert dev is not None and dev["image"]["type"] == "file"
    assert dev["num_inference_steps"]["maximum"] == 50


def test_emulator_enforces_a_newly_verified_schema(replicate: ReplicateEmulator) -> None:
    steps = _create(
        replicate, "black-forest-labs/flux-schnell", {"prompt": "p", "num_inference_steps": 5}
    )
    assert steps.status_code == 422
    assert steps.json()["invalid_fields"][0]["field"] == "input.num_inference_steps"
    ok = _create(
        replicate,
        "black-forest-labs/flux-schnell",
        {"prompt": "p", "num_inference_steps": 4, "megapixels": "0.25", "aspect_ratio": "4:3"},
    )
    assert ok.status_code == 201
