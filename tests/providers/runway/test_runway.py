"""Runway through the public API, the real ``runwayml`` SDK and the local emulator."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from tarash.tarash_gateway import (
    cancel_job_async,
    generate_image,
    generate_image_async,
    generate_video,
    generate_video_async,
    get_job_status_async,
    submit_job_async,
    wait_for_job_async,
)
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    ContentModerationError,
    GenerationFailedError,
    HTTPConnectionError,
    HTTPError,
    ModelUnavailableError,
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.jobs import JobRef
from tarash.tarash_gateway.models import (
    Cost,
    ImageGenerationConfig,
    ImageGenerationRequest,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers.mock.media import make_png
from tests.conftest import FAST_RETRY
from tests.emulators.harness import JobScript, RecordedRequest, emulator_fixture
from tests.emulators.runway import RUNWAY_API_KEY, RUNWAY_VERSION, RunwayEmulator

pytestmark = pytest.mark.timeout(60)

runway = emulator_fixture(RunwayEmulator, scope="module")

FRAME_URL = "https://cdn.example.com/first.png"
LAST_URL = "https://cdn.example.com/last.png"
TASKS = r"^/v1/(text_to_video|image_to_video|text_to_image)$"


def video_config(emu: RunwayEmulator, model: str = "gen4.5", **kw: Any) -> Any:
    kw.setdefault("timeout", 20)
    kw.setdefault("retry", FAST_RETRY)
    return VideoGenerationConfig(
        provider="runway",
        model=model,
        api_key=kw.pop("api_key", RUNWAY_API_KEY),
        base_url=emu.base_url,
        poll_interval=0.05,
        **kw,
    )


def image_config(emu: RunwayEmulator, model: str = "gen4_image", **kw: Any) -> Any:
    kw.setdefault("timeout", 20)
    kw.setdefault("retry", FAST_RETRY)
    return ImageGenerationConfig(
        provider="runway",
        model=model,
        api_key=kw.pop("api_key", RUNWAY_API_KEY),
        base_url=emu.base_url,
        poll_interval=0.05,
        **kw,
    )


def mock_video() -> VideoGenerationConfig:
    return VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        mock=MockConfig(enabled=True, polling=MockPollingConfig(delay_between_updates=0.01)),
        poll_interval=0.05,
    )


def creates(emu: RunwayEmulator) -> list[RecordedRequest]:
    return emu.find(TASKS, "POST")


# ----------------------------------------------------------------------------- success


async def test_text_to_video_exact_body_headers_and_credits(runway: RunwayEmulator) -> None:
    response = await generate_video_async(
        video_config(runway),
        VideoGenerationRequest(
            prompt="a lone wolf", duration_seconds=8, aspect_ratio="9:16", seed=11
        ),
    )
    create = runway.last(TASKS, "POST")
    assert create.path == "/v1/text_to_video"
    assert create.json == {
        "model": "gen4.5",
        "promptText": "a lone wolf",
        "ratio": "720:1280",
        "duration": 8,
        "seed": 11,
    }
    assert create.header("X-Runway-Version") == RUNWAY_VERSION
    assert create.header("Authorization") == f"Bearer {RUNWAY_API_KEY}"
    task_id = next(iter(runway.jobs))
    assert response.provider_request_id == task_id
    assert response.video.startswith(runway.base_url + "/__files__/")  # type: ignore[union-attr]
    assert response.content_type == "video/mp4"
    assert response.cost == Cost(
        amount=80.0, unit="credits", source="provider", detail={"task_id": task_id}
    )
    assert response.raw_response["status"] == "SUCCEEDED"
    assert response.raw_response["cost"] == {"credits": 80}
    polls = runway.find(rf"^/v1/tasks/{task_id}$", "GET")
    assert polls and all(p.header("X-Runway-Version") == RUNWAY_VERSION for p in polls)
    assert await response.read_bytes_async()  # the output URL serves the MP4


async def test_image_to_video_with_url_first_frame(runway: RunwayEmulator) -> None:
    await generate_video_async(
        video_config(runway, "gen4_turbo"),
        VideoGenerationRequest(
            prompt="camera pans",
            duration_seconds=10,
            aspect_ratio="21:9",
            image_list=[{"image": FRAME_URL, "type": "first_frame"}],
        ),
    )
    create = runway.last(TASKS, "POST")
    assert create.path == "/v1/image_to_video"
    assert create.json == {
        "model": "gen4_turbo",
        "promptImage": FRAME_URL,
        "ratio": "1584:672",
        "duration": 10,
        "promptText": "camera pans",
    }
    assert runway.count(r"^/v1/uploads$", "POST") == 0  # URLs pass through


async def test_first_and_last_frames_with_uploaded_local_media(
    runway: RunwayEmulator, tmp_path: Path
) -> None:
    first = make_png(8, 8, seed=4)
    path = tmp_path / "opening.png"
    path.write_bytes(first)
    last = make_png(8, 8, seed=5)
    await generate_video_async(
        video_config(runway, "veo3.1"),
        VideoGenerationRequest(
            prompt="day to night",
            duration_seconds=4,
            resolution="1080p",
            generate_audio=True,
            image_list=[
                {"image": path, "type": "first_frame"},
                {"image": base64.b64encode(last).decode(), "type": "last_frame"},
            ],
        ),
    )
    slots = runway.find(r"^/v1/uploads$", "POST")
    assert [s.json for s in slots] == [
        {"filename": "opening.png", "type": "ephemeral"},
        {"filename": "input.png", "type": "ephemeral"},
    ]
    stored = list(runway.uploads.values())
    assert [u["file"].data for u in stored] == [first, last]
    assert stored[0]["file"].content_type == "image/png"
    uploads = runway.find(r"^/__uploads__/", "POST")
    assert all(u.form["policy"] == "emulated-policy" for u in uploads)
    assert "Authorization" not in uploads[0].headers  # a presigned POST, not the API
    keys = list(runway.uploads)
    assert runway.last(TASKS, "POST").json == {
        "model": "veo3.1",
        "promptImage": [
            {"uri": f"runway://uploads/{keys[0]}/opening.png", "position": "first"},
            {"uri": f"runway://uploads/{keys[1]}/input.png", "position": "last"},
        ],
        "ratio": "1920:1080",
        "duration": 4,
        "promptText": "day to night",
        "audio": True,
    }


async def test_data_uri_media_policy_inlines_small_images(runway: RunwayEmulator) -> None:
    frame = make_png(8, 8)
    await generate_video_async(
        video_config(runway, "gen4_turbo", provider_config={"media": "data_uri"}),
        VideoGenerationRequest(prompt="p", image_list=[{"image": frame, "type": "first_frame"}]),
    )
    assert runway.count(r"^/v1/uploads$", "POST") == 0
    sent = runway.last(TASKS, "POST").json["promptImage"]
    assert sent == "data:image/png;base64," + base64.b64encode(frame).decode()


async def test_text_to_image_with_references_and_credits(runway: RunwayEmulator) -> None:
    response = await generate_image_async(
        image_config(runway, "gen4_image_turbo"),
        ImageGenerationRequest(
            prompt="@hero in a garden",
            aspect_ratio="9:16",
            image_list=[{"image": FRAME_URL, "type": "reference"}],
            provider_options={"runway": {"reference_images": [{"uri": FRAME_URL, "tag": "hero"}]}},
        ),
    )
    assert runway.last(TASKS, "POST").json == {
        "model": "gen4_image_turbo",
        "promptText": "@hero in a garden",
        "ratio": "1080:1920",
        "referenceImages": [{"uri": FRAME_URL, "tag": "hero"}],
    }
    assert len(response.images) == 1 and response.images[0].endswith("/image.png")
    assert response.content_type == "image/png"
    assert response.cost is not None and response.cost.amount == 8.0
    assert response.cost.unit == "credits"


async def test_extra_params_reach_the_api_in_camel_case(runway: RunwayEmulator) -> None:
    await generate_video_async(
        video_config(runway),
        VideoGenerationRequest(
            prompt="p",
            extra_params={"content_moderation": {"public_figure_threshold": "low"}},
            provider_options={"runway": {"someNewFlag": True}},
        ),
    )
    body = runway.last(TASKS, "POST").json
    assert body["contentModeration"] == {"publicFigureThreshold": "low"}
    assert body["someNewFlag"] is True  # unknown to this SDK version: sent as-is


def test_sync_api(runway: RunwayEmulator) -> None:
    video = generate_video(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert video.cost is not None and video.cost.amount == 50.0
    image = generate_image(image_config(runway), ImageGenerationRequest(prompt="p"))
    assert image.images and image.cost is not None


# ----------------------------------------------------------------------------- progress


async def test_throttled_pending_running_progress(runway: RunwayEmulator) -> None:
    runway.job_script = JobScript.success(
        None, queued=2, running=4, queue_position=1, by_polls=True
    )
    updates: list[VideoGenerationUpdate] = []
    await generate_video_async(
        video_config(runway), VideoGenerationRequest(prompt="p"), on_progress=updates.append
    )
    seen = [(u.status, u.update.get("status"), u.progress_percent) for u in updates if u.update]
    assert seen[0] == ("queued", "THROTTLED", None)
    assert seen[1] == ("queued", "PENDING", None)
    assert [p for s, api, p in seen if api == "RUNNING"] == [20, 40, 60, 80]
    assert seen[-1] == ("processing", "SUCCEEDED", 100)
    assert updates[-1].status == "completed"
    throttled = next(u for u in updates if u.update.get("status") == "THROTTLED")
    assert throttled.update["estimatedCost"] == {"credits": 50}


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("gen4_turbo", {}, "image_list"),
        ("veo3.1", {"duration_seconds": 5}, "duration_seconds"),
        ("veo3.1", {"aspect_ratio": "21:9"}, "aspect_ratio"),
        ("gen3a_turbo", {}, "model"),
        ("gen4.5", {"provider_options": {"runway": {"ratio": "960:960"}}}, "ratio"),
        ("gen4.5", {"video": FRAME_URL}, "video"),
    ],
)
async def test_invalid_requests_fail_before_any_network_call(
    runway: RunwayEmulator, model: str, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_video_async(
            video_config(runway, model), VideoGenerationRequest(prompt="p", **fields)
        )
    assert info.value.field == field
    assert runway.requests == []


async def test_bad_provider_config_fails_before_network(runway: RunwayEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_video_async(
            video_config(runway, provider_config={"media": "ftp"}),
            VideoGenerationRequest(prompt="p"),
        )
    assert info.value.field == "provider_config.media"
    assert runway.requests == []


# ----------------------------------------------------------------------------- HTTP errors


async def test_400_issues_become_validation_error_fields(runway: RunwayEmulator) -> None:
    runway.inject_status(
        400,
        {
            "error": "Validation of body failed",
            "issues": [
                {"code": "invalid_enum_value", "path": ["ratio"], "message": "Invalid enum value"}
            ],
        },
        path=TASKS,
    )
    with pytest.raises(ValidationError) as info:
        await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert info.value.field == "ratio"
    assert info.value.errors == [{"field": "ratio", "message": "Invalid enum value"}]
    assert "Validation of body failed" in str(info.value)
    assert len(creates(runway)) == 1


async def test_wrong_api_version_is_rejected_by_the_api(runway: RunwayEmulator) -> None:
    with pytest.raises(ValidationError, match="not supported"):
        await generate_video_async(
            video_config(runway, api_version="2020-01-01"), VideoGenerationRequest(prompt="p")
        )
    assert runway.last(TASKS, "POST").header("X-Runway-Version") == "2020-01-01"


async def test_401_and_404_are_final(runway: RunwayEmulator) -> None:
    with pytest.raises(AuthenticationError) as auth:
        await generate_video_async(
            video_config(runway, api_key="key_wrong", fallback_configs=[mock_video()]),
            VideoGenerationRequest(prompt="p"),
        )
    assert auth.value.status_code == 401
    assert "key_wrong" not in str(auth.value)
    runway.reset()
    runway.inject_status(404, path=TASKS, times=None)
    with pytest.raises(HTTPError) as missing:
        await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert missing.value.status_code == 404 and missing.value.retryable is False
    assert len(creates(runway)) == 1


async def test_429_is_retried_with_retry_after(runway: RunwayEmulator) -> None:
    runway.inject_status(429, path=TASKS, retry_after=3)
    response = await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert len(creates(runway)) == 2
    assert response.execution_metadata.attempts[0].error_type == "RateLimitError"  # type: ignore[union-attr]
    runway.reset()
    runway.inject_status(429, path=TASKS, retry_after=3, times=None)
    with pytest.raises(RateLimitError) as info:
        await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize("status", [502, 503, 504])
async def test_shedding_load_is_retried_then_falls_back(
    runway: RunwayEmulator, status: int
) -> None:
    runway.inject_status(status, path=TASKS, times=None)
    response = await generate_video_async(
        video_config(runway, fallback_configs=[mock_video()]), VideoGenerationRequest(prompt="p")
    )
    assert response.provider == "mock"
    attempts = response.execution_metadata.attempts  # type: ignore[union-attr]
    assert [a.error_type for a in attempts] == ["HTTPError"] * 3 + [None]
    assert len(creates(runway)) == 3


async def test_fallback_from_mock_to_runway(runway: RunwayEmulator) -> None:
    primary = VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        mock=MockConfig(enabled=True, responses=[MockResponse(error="rate_limit")]),
        retry=FAST_RETRY,
        fallback_configs=[video_config(runway)],
    )
    response = await generate_video_async(primary, VideoGenerationRequest(prompt="p"))
    assert response.provider == "runway" and response.cost is not None


async def test_dropped_connection_and_malformed_json_are_retried(runway: RunwayEmulator) -> None:
    runway.inject_malformed(path=TASKS)
    response = await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    attempts = response.execution_metadata.attempts  # type: ignore[union-attr]
    assert [a.error_type for a in attempts] == ["HTTPError", None]  # an answered error: resent
    runway.reset()
    runway.inject_drop(path=TASKS, times=None)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert info.value.outcome_unknown
    assert len(creates(runway)) == 1  # sent once: a resend could pay twice


async def test_transient_status_errors_are_tolerated(runway: RunwayEmulator) -> None:
    runway.job_script = JobScript.success(None, queued=0.1, running=0.3)
    runway.inject_status(503, path=r"^/v1/tasks/", method="GET")
    runway.inject_malformed(path=r"^/v1/tasks/", method="GET")
    response = await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert response.cost is not None
    assert len(creates(runway)) == 1


# ----------------------------------------------------------------------------- task failures


@pytest.mark.parametrize(
    ("code", "error_type", "retryable"),
    [
        ("SAFETY.INPUT.TEXT", ContentModerationError, False),
        ("SAFETY.OUTPUT.VIDEO", ContentModerationError, False),
        ("INPUT_PREPROCESSING.SAFETY.TEXT", ContentModerationError, False),
        ("ASSET.INVALID", ValidationError, False),
    ],
)
async def test_final_failure_codes(
    runway: RunwayEmulator, code: str, error_type: type[Exception], retryable: bool
) -> None:
    runway.job_script = JobScript.failure(
        {"failure": "The generation was rejected.", "failureCode": code}, running=0.05
    )
    with pytest.raises(error_type) as info:
        await generate_video_async(
            video_config(runway, fallback_configs=[mock_video()]),
            VideoGenerationRequest(prompt="p"),
        )
    assert code in str(info.value)
    assert info.value.retryable is retryable  # type: ignore[attr-defined]
    assert info.value.raw_response["failureCode"] == code  # type: ignore[attr-defined]
    assert len(creates(runway)) == 1
    assert not info.value.execution_metadata.fallback_triggered  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "code", ["INTERNAL.BAD_OUTPUT.CODE01", "INPUT_PREPROCESSING.INTERNAL", "INTERNAL"]
)
async def test_internal_failure_codes_are_retried(runway: RunwayEmulator, code: str) -> None:
    runway.queue_job_scripts(
        JobScript.failure({"failure": "Internal error", "failureCode": code}, running=0.05)
    )
    response = await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert len(creates(runway)) == 2
    assert response.execution_metadata.attempts[0].error_type == "GenerationFailedError"  # type: ignore[union-attr]


async def test_cancelled_task_is_generation_failed(runway: RunwayEmulator) -> None:
    runway.job_script = JobScript.success(None, queued=0.05, running=5)

    def cancel_then_answer(request: Any, rec: RecordedRequest) -> None:
        runway.jobs[request.match_info["task_id"]].cancel()

    runway.inject_custom(cancel_then_answer, path=r"^/v1/tasks/", method="GET")
    with pytest.raises(GenerationFailedError, match="cancelled") as info:
        await generate_video_async(video_config(runway), VideoGenerationRequest(prompt="p"))
    assert info.value.retryable is False


# ----------------------------------------------------------------------------- timeouts


async def test_timeout_deletes_the_task_before_falling_back(runway: RunwayEmulator) -> None:
    runway.job_script = JobScript.success(None, queued=0.05, running=30)
    events: list[tuple[float, str | None]] = []

    def observe(update: VideoGenerationUpdate) -> None:
        events.append((time.monotonic(), update.provider))

    response = await generate_video_async(
        video_config(runway, timeout=0.8, fallback_configs=[mock_video()]),
        VideoGenerationRequest(prompt="p"),
        on_progress=observe,
    )
    assert response.provider == "mock"
    task_id = next(iter(runway.jobs))
    delete = runway.last(rf"^/v1/tasks/{task_id}$", "DELETE")
    assert delete.status == 204
    assert delete.received_at < min(t for t, provider in events if provider == "mock")
    attempt = response.execution_metadata.attempts[0]  # type: ignore[union-attr]
    assert attempt.error_type == "TarashTimeoutError" and attempt.cancelled_upstream is True
    assert runway.jobs[task_id].state.value == "cancelled"


async def test_timeout_without_fallback(runway: RunwayEmulator) -> None:
    runway.job_script = JobScript.success(None, running=30)
    with pytest.raises(TimeoutError) as info:
        await generate_image_async(
            image_config(runway, timeout=0.6), ImageGenerationRequest(prompt="p")
        )
    assert info.value.cancelled_upstream is True
    assert runway.count(r"^/v1/tasks/", "DELETE") == 1


# ----------------------------------------------------------------------------- durable jobs


async def test_submitted_task_can_be_resumed(runway: RunwayEmulator) -> None:
    config = video_config(runway)
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef) and job.data == {"endpoint": "text_to_video"}
    response = await wait_for_job_async(JobRef.from_json(job.to_json()), config)
    assert response.provider_request_id == job.provider_request_id
    assert response.cost is not None and response.cost.amount == 50.0


async def test_sdk_never_retries_on_its_own(runway: RunwayEmulator) -> None:
    runway.job_script = JobScript.success(None, running=5)
    config = video_config(runway)
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    runway.inject_status(503, path=r"^/v1/tasks/", method="GET", times=None)
    with pytest.raises(HTTPError) as info:
        await get_job_status_async(job, config)
    assert info.value.status_code == 503 and info.value.retryable
    assert runway.count(r"^/v1/tasks/", "GET") == 1  # max_retries=0: no hidden SDK retries
    runway.clear_faults()
    status = await get_job_status_async(job, config)
    assert status.state == "processing" and status.progress_percent is not None
    assert status.raw["estimatedCost"] == {"credits": 50}
    assert await cancel_job_async(job, config) is True
    assert runway.last(r"^/v1/tasks/", "DELETE").status == 204


# ----------------------------------------------------------------------------- exactly once


async def test_cancel_job_of_a_finished_task_does_not_delete_it(runway: RunwayEmulator) -> None:
    """Runway cancels *and deletes* by ``DELETE /v1/tasks/{id}``: a finished (paid) task is
    looked at first and kept, so its output can still be fetched."""
    runway.job_script = JobScript.success(running=0.01)
    config = video_config(runway)
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    time.sleep(0.3)
    assert await cancel_job_async(job, config) is False
    assert runway.count(r"^/v1/tasks/", "DELETE") == 0
    response = await wait_for_job_async(job, config)
    assert response.video


async def test_cancel_of_an_unknown_task_is_not_a_confirmed_cancel(runway: RunwayEmulator) -> None:
    config = video_config(runway)
    job = JobRef(
        provider="runway",
        model="gen4.5",
        operation="video",
        provider_request_id="00000000-0000-0000-0000-000000000000",
        request_id="tg_x",
        base_url=runway.base_url,
    )
    assert await cancel_job_async(job, config) is False


# ----------------------------------------------------------------- models not in the catalog


async def test_a_new_video_model_goes_out_with_the_generic_mapping(runway: RunwayEmulator) -> None:
    runway.add_model("gen5", ratios=("1920:1080", "1280:720"))  # launched after our catalog
    request = VideoGenerationRequest(
        prompt="a heron lands",
        duration_seconds=7,
        aspect_ratio="16:9",
        resolution="1080p",
        seed=3,
        generate_audio=True,
        negative_prompt="blur",
        extra_params={"content_moderation": {"public_figure_threshold": "low"}},
    )
    response = await generate_video_async(video_config(runway, "gen5"), request)
    create = runway.last(TASKS, "POST")
    assert create.path == "/v1/text_to_video"
    assert create.json == {
        "model": "gen5",
        "promptText": "a heron lands",
        "ratio": "1920:1080",
        "duration": 7,
        "seed": 3,
        "audio": True,
        "negativePrompt": "blur",
        "contentModeration": {"publicFigureThreshold": "low"},
    }
    (warning,) = [w for w in response.warnings if "not validated" in w]
    assert "'gen5'" in warning and "did you mean 'gen4.5'?" in warning
    assert response.video


async def test_a_new_model_with_first_and_last_frames_and_an_unknown_shape(
    runway: RunwayEmulator,
) -> None:
    runway.add_model("gen5", ("image_to_video",), required=("promptImage",))
    await generate_video_async(
        video_config(runway, "gen5"),
        VideoGenerationRequest(
            prompt="p",
            aspect_ratio="4:5",  # no catalogued model has it: sent as given
            resolution="4k",
            image_list=[
                {"image": FRAME_URL, "type": "first_frame"},
                {"image": LAST_URL, "type": "last_frame"},
            ],
        ),
    )
    create = runway.last(TASKS, "POST")
    assert create.path == "/v1/image_to_video"
    assert create.json == {
        "model": "gen5",
        "promptText": "p",
        "promptImage": [
            {"uri": FRAME_URL, "position": "first"},
            {"uri": LAST_URL, "position": "last"},
        ],
        "ratio": "4:5",
        "resolution": "4k",
    }


async def test_a_new_image_model_goes_out_with_the_generic_mapping(
    runway: RunwayEmulator,
) -> None:
    runway.add_model("gen5_image", ("text_to_image",), required=("promptText", "ratio"))
    response = await generate_image_async(
        image_config(runway, "gen5_image"),
        ImageGenerationRequest(
            prompt="a kite",
            aspect_ratio="16:9",
            n=2,
            seed=9,
            image_list=[{"image": FRAME_URL, "type": "reference"}],
            provider_options={"runway": {"quality": "high"}},
        ),
    )
    assert runway.last(TASKS, "POST").json == {
        "model": "gen5_image",
        "promptText": "a kite",
        "ratio": "1920:1080",  # the largest catalogued pixel ratio of that shape
        "referenceImages": [{"uri": FRAME_URL}],
        "outputCount": 2,
        "seed": 9,
        "quality": "high",
    }
    assert any("did you mean 'gen4_image'?" in w for w in response.warnings)


async def test_a_model_the_sdk_knows_but_the_catalog_does_not(runway: RunwayEmulator) -> None:
    # runwayml 5.24.0 lists seedance2 (text_to_video: only promptText Required); the
    # emulator takes it from those same types, no add_model needed.
    response = await generate_video_async(
        video_config(runway, "seedance2"),
        VideoGenerationRequest(prompt="p", duration_seconds=5),
    )
    assert runway.last(TASKS, "POST").json == {
        "model": "seedance2",
        "promptText": "p",
        "duration": 5,
    }
    assert any("not validated" in w for w in response.warnings)


async def test_strict_models_refuses_a_new_model_before_any_network_call(
    runway: RunwayEmulator,
) -> None:
    runway.add_model("gen5")
    with pytest.raises(ValidationError, match="strict_models") as info:
        await generate_video_async(
            video_config(runway, "gen5", strict_models=True), VideoGenerationRequest(prompt="p")
        )
    assert "did you mean 'gen4.5'?" in str(info.value)
    assert info.value.field == "model"
    assert runway.requests == []


async def test_the_emulator_rejects_a_new_model_it_was_not_told_about(
    runway: RunwayEmulator,
) -> None:
    # Runway's 400 names the model: a model-unavailable answer (next config, no retries).
    with pytest.raises(ModelUnavailableError) as info:
        await generate_video_async(video_config(runway, "gen5"), VideoGenerationRequest(prompt="p"))
    (issue,) = info.value.raw_response["issues"]
    assert issue["path"] == ["model"] and "Invalid discriminator value" in issue["message"]
    assert len(creates(runway)) == 1
