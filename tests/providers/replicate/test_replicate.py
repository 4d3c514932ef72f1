"""Replicate through the public API, the real ``replicate`` SDK and the local emulator."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

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
    RateLimitError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.jobs import JobRef
from tarash.tarash_gateway.models import (
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
from tests.emulators.harness import FaultKind, JobScript, RecordedRequest, emulator_fixture
from tests.emulators.replicate import (
    REPLICATE_API_KEY,
    ReplicateEmulator,
    data_uri,
    sample_image,
    sample_video,
)

pytestmark = pytest.mark.timeout(60)

replicate = emulator_fixture(ReplicateEmulator, scope="module")

CREATE = r"/predictions$"
IMAGE_URL = "https://cdn.example.com/frame.png"


def video_config(emu: ReplicateEmulator, model: str = "kwaivgi/kling-v2.6", **kw: Any) -> Any:
    kw.setdefault("timeout", 20)
    kw.setdefault("retry", FAST_RETRY)
    return VideoGenerationConfig(
        provider="replicate",
        model=model,
        api_key=kw.pop("api_key", REPLICATE_API_KEY),
        base_url=emu.base_url,
        poll_interval=0.05,
        **kw,
    )


def image_config(
    emu: ReplicateEmulator, model: str = "black-forest-labs/flux-schnell", **kw: Any
) -> Any:
    kw.setdefault("timeout", 20)
    kw.setdefault("retry", FAST_RETRY)
    return ImageGenerationConfig(
        provider="replicate",
        model=model,
        api_key=kw.pop("api_key", REPLICATE_API_KEY),
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


def creates(emu: ReplicateEmulator) -> list[RecordedRequest]:
    return emu.find(CREATE, "POST")


# ----------------------------------------------------------------------------- success


async def test_official_model_video_sends_exact_input_and_returns_bytes(
    replicate: ReplicateEmulator,
) -> None:
    response = await generate_video_async(
        video_config(replicate),
        VideoGenerationRequest(
            prompt="a red fox in snow",
            duration_seconds=10,
            aspect_ratio="9:16",
            negative_prompt="blurry",
            generate_audio=True,
        ),
    )
    create = replicate.last(CREATE, "POST")
    assert create.path == "/v1/models/kwaivgi/kling-v2.6/predictions"
    assert create.json == {
        "input": {
            "prompt": "a red fox in snow",
            "negative_prompt": "blurry",
            "aspect_ratio": "9:16",
            "duration": 10,
            "generate_audio": True,
        }
    }
    assert create.header("Prefer") is None  # video polls; it does not hold the request
    assert create.header("Authorization") == f"Bearer {REPLICATE_API_KEY}"
    # The emulator answers with a data: URI; FileOutput decodes it offline.
    assert response.video == {"content": sample_video(), "content_type": "video/mp4"}
    assert response.content_type == "video/mp4"
    assert response.provider == "replicate" and response.model == "kwaivgi/kling-v2.6"
    job_id = next(iter(replicate.jobs))
    assert response.provider_request_id == job_id
    assert response.raw_response["metrics"]["predict_time"] >= 0
    assert response.raw_response["output"].startswith("data:video/mp4;base64,<")
    assert response.cost is None  # Replicate reports no price
    assert response.duration == 10.0 and response.aspect_ratio == "9:16"
    assert replicate.count(rf"/v1/predictions/{job_id}$", "GET") >= 1


async def test_https_outputs_pass_through_as_urls(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(
        ["https://replicate.delivery/a.mp4", "https://replicate.delivery/b.mp4"], running=0.05
    )
    response = await generate_video_async(
        video_config(replicate, "google/veo-3"), VideoGenerationRequest(prompt="waves")
    )
    assert response.video == "https://replicate.delivery/a.mp4"
    assert response.videos == [
        "https://replicate.delivery/a.mp4",
        "https://replicate.delivery/b.mp4",
    ]


async def test_pinned_version_goes_to_predictions_with_version(
    replicate: ReplicateEmulator,
) -> None:
    version = "5c7d5dc6dd8bf75c1acaa8565735e7986bc5b66206b55cca93cb72c9bf15ccaa"
    replicate.versions[version] = "kwaivgi/kling-v2.6"
    response = await generate_video_async(
        video_config(replicate, f"kwaivgi/kling-v2.6:{version}"),
        VideoGenerationRequest(prompt="p", duration_seconds=5),
    )
    create = replicate.last(CREATE, "POST")
    assert create.path == "/v1/predictions"
    assert create.json == {"version": version, "input": {"prompt": "p", "duration": 5}}
    assert response.raw_response["version"] == version


async def test_deployment_by_model_name_and_by_option(replicate: ReplicateEmulator) -> None:
    first = await generate_video_async(
        video_config(replicate, "deployments/acme/kling-prod"),
        VideoGenerationRequest(prompt="p", duration_seconds=5),
    )
    assert replicate.last(CREATE, "POST").path == "/v1/deployments/acme/kling-prod/predictions"
    assert replicate.last(CREATE, "POST").json == {"input": {"prompt": "p", "duration": 5}}
    assert any("no validated field mapping" in w for w in first.warnings)

    second = await generate_video_async(
        video_config(replicate, "kwaivgi/kling-v2.6", provider_config={"deployment": "acme/k26"}),
        VideoGenerationRequest(prompt="q", duration_seconds=5, aspect_ratio="1:1"),
    )
    create = replicate.last(CREATE, "POST")
    assert create.path == "/v1/deployments/acme/k26/predictions"
    assert create.json == {"input": {"prompt": "q", "aspect_ratio": "1:1", "duration": 5}}
    assert second.warnings == []


@pytest.mark.parametrize(
    ("model", "fields", "expected", "output"),
    [
        (
            "black-forest-labs/flux-schnell",
            {"n": 2, "aspect_ratio": "16:9"},
            {"aspect_ratio": "16:9", "num_outputs": 2},
            None,  # emulator default: [PNG data URI]
        ),
        (
            "black-forest-labs/flux-1.1-pro",
            {"size": "1024x768", "seed": 42},
            {"aspect_ratio": "custom", "width": 1024, "height": 768, "seed": 42},
            "https://replicate.delivery/out.webp",
        ),
        (
            "google/imagen-4",
            {"aspect_ratio": "4:3", "extra_params": {"output_format": "png"}},
            {"aspect_ratio": "4:3", "output_format": "png"},
            "https://replicate.delivery/out.png",
        ),
        (
            "ideogram-ai/ideogram-v3-turbo",
            {"aspect_ratio": "3:2", "style": "Design"},
            {"aspect_ratio": "3:2", "style_type": "Design"},
            "https://replicate.delivery/out.png",
        ),
        (
            "recraft-ai/recraft-v3",
            {"size": "1024x1365", "style": "realistic_image"},
            {"size": "1024x1365", "style": "realistic_image"},
            "https://replicate.delivery/out.webp",
        ),
        (
            "black-forest-labs/flux-kontext-pro",
            {"image_list": [{"image": IMAGE_URL, "type": "reference"}], "aspect_ratio": "1:1"},
            {"input_image": IMAGE_URL, "aspect_ratio": "1:1"},
            "https://replicate.delivery/out.jpg",
        ),
    ],
)
async def test_image_families_use_prefer_wait_and_return_images(
    replicate: ReplicateEmulator,
    model: str,
    fields: dict[str, Any],
    expected: dict[str, Any],
    output: Any,
) -> None:
    replicate.job_script = JobScript.success(output, running=0.05)
    response = await generate_image_async(
        image_config(replicate, model), ImageGenerationRequest(prompt="a lighthouse", **fields)
    )
    create = replicate.last(CREATE, "POST")
    assert create.path == f"/v1/models/{model}/predictions"
    assert create.json == {"input": {"prompt": "a lighthouse", **expected}}
    assert create.header("Prefer", "").startswith("wait=")
    # Finished inside the held request: no status poll at all.
    assert replicate.count(r"/v1/predictions/", "GET") == 0
    if output is None:
        assert response.images == [data_uri(sample_image(), "image/png")]
        assert response.content_type == "image/png"
        assert base64.b64decode(response.images[0].split(",", 1)[1]) == sample_image()
    else:
        assert response.images == [output]
        assert response.content_type.startswith("image/")


async def test_wait_falls_back_to_polling_when_the_model_is_slower(
    replicate: ReplicateEmulator,
) -> None:
    replicate.job_script = JobScript.success(None, queued=0.1, running=1.4)
    started = time.monotonic()
    response = await generate_image_async(
        image_config(replicate, provider_config={"wait": 1}), ImageGenerationRequest(prompt="p")
    )
    create = replicate.last(CREATE, "POST")
    assert create.header("Prefer") == "wait=1"
    held = create.received_at
    assert replicate.count(r"/v1/predictions/", "GET") >= 1
    first_poll = replicate.find(r"/v1/predictions/", "GET")[0].received_at
    assert first_poll - held >= 0.9  # the emulator held the create for ~1 s
    assert response.images == [data_uri(sample_image(), "image/png")]
    assert time.monotonic() - started < 10


async def test_video_wait_option_returns_without_polling(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, running=0.1)
    response = await generate_video_async(
        video_config(replicate, provider_config={"wait": True}, timeout=120),
        VideoGenerationRequest(prompt="p"),
    )
    assert replicate.last(CREATE, "POST").header("Prefer") == "wait=60"
    await generate_video_async(
        video_config(replicate, provider_config={"wait": 30}, timeout=10),
        VideoGenerationRequest(prompt="p"),
    )
    wait = int(replicate.last(CREATE, "POST").header("Prefer", "").removeprefix("wait="))
    assert 5 <= wait <= 8  # never longer than what is left of the attempt
    assert replicate.count(r"/v1/predictions/", "GET") == 0
    assert response.video == {"content": sample_video(), "content_type": "video/mp4"}


async def test_progress_and_new_log_lines_from_tqdm_logs(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(
        None, queued=1, running=3, by_polls=True, logs=("Loading model", "Sampling")
    )
    updates: list[VideoGenerationUpdate] = []
    await generate_video_async(
        video_config(replicate), VideoGenerationRequest(prompt="p"), on_progress=updates.append
    )
    processing = [u.progress_percent for u in updates if u.status == "processing"]
    assert processing == [25, 50, 75, 100]
    logs = [line for u in updates for line in u.logs]
    assert logs[0] == "Loading model"
    assert "Sampling" in logs
    assert [line for line in logs if "%|" in line][:3] == [
        " 25%|██        | 12/50 [00:01<00:02, 9.50it/s]".strip(),
        " 50%|█████     | 25/50 [00:01<00:02, 9.50it/s]".strip(),
        " 75%|████████  | 38/50 [00:01<00:02, 9.50it/s]".strip(),
    ]
    assert len(logs) == len(set(logs))  # each line reported once
    assert updates[-1].status == "completed" and updates[-1].result is not None


def test_sync_api(replicate: ReplicateEmulator) -> None:
    response = generate_image(image_config(replicate), ImageGenerationRequest(prompt="p", n=1))
    assert response.images == [data_uri(sample_image(), "image/png")]
    video = generate_video(video_config(replicate), VideoGenerationRequest(prompt="p"))
    assert video.video == {"content": sample_video(), "content_type": "video/mp4"}


# ----------------------------------------------------------------------------- uploads


async def test_local_media_is_uploaded_through_the_files_api(
    replicate: ReplicateEmulator, tmp_path: Path
) -> None:
    frame = make_png(8, 8, seed=1)
    last = make_png(8, 8, seed=2)
    path = tmp_path / "start.png"
    path.write_bytes(frame)
    await generate_video_async(
        video_config(replicate, "kwaivgi/kling-v2.5-turbo-pro"),
        VideoGenerationRequest(
            prompt="p",
            image_list=[
                {"image": path, "type": "first_frame"},
                {"image": last, "type": "last_frame"},
            ],
        ),
    )
    uploads = replicate.find(r"^/v1/files$", "POST")
    assert len(uploads) == 2
    assert [u.files["content"].data for u in uploads] == [frame, last]
    assert uploads[0].files["content"].filename == "start.png"
    assert uploads[0].files["content"].content_type == "image/png"
    sent = replicate.last(CREATE, "POST").json["input"]
    urls = [f["urls"]["get"] for f in replicate.files.values()]
    assert sent["start_image"] == urls[0] and sent["end_image"] == urls[1]
    assert sent["start_image"].startswith(replicate.base_url)


async def test_urls_pass_through_and_data_uri_encoding_skips_uploads(
    replicate: ReplicateEmulator,
) -> None:
    await generate_video_async(
        video_config(replicate, "kwaivgi/kling-v2.6"),
        VideoGenerationRequest(
            prompt="p", image_list=[{"image": IMAGE_URL, "type": "first_frame"}]
        ),
    )
    assert replicate.last(CREATE, "POST").json["input"]["start_image"] == IMAGE_URL
    frame = make_png(8, 8)
    await generate_video_async(
        video_config(
            replicate, "kwaivgi/kling-v2.6", provider_config={"file_encoding": "data_uri"}
        ),
        VideoGenerationRequest(prompt="p", image_list=[{"image": frame, "type": "first_frame"}]),
    )
    assert replicate.count(r"^/v1/files$", "POST") == 0
    sent = replicate.last(CREATE, "POST").json["input"]["start_image"]
    assert sent == "data:image/png;base64," + base64.b64encode(frame).decode()


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("config_kw", "request_kw", "field"),
    [
        ({}, {"duration_seconds": 7}, "duration_seconds"),
        ({"model": "google/veo-3"}, {"resolution": "480p"}, "resolution"),
        ({"provider_config": {"wait": 120}}, {}, "provider_config.wait"),
        ({"provider_config": {"wiat": 5}}, {}, "provider_config.wiat"),
        ({"provider_config": {"file_encoding": "zip"}}, {}, "provider_config.file_encoding"),
        ({"model": "not a model"}, {}, "model"),
        ({"model": "kwaivgi/kling-v2.6:not-hex!"}, {}, "model"),
        ({"model": "kwaivgi/kling-v2.6"}, {"video": IMAGE_URL}, "video"),
    ],
)
async def test_invalid_requests_fail_before_any_network_call(
    replicate: ReplicateEmulator, config_kw: dict[str, Any], request_kw: dict[str, Any], field: str
) -> None:
    model = config_kw.pop("model", "kwaivgi/kling-v2.6")
    with pytest.raises(ValidationError) as info:
        await generate_video_async(
            video_config(replicate, model, **config_kw),
            VideoGenerationRequest(prompt="p", **request_kw),
        )
    assert info.value.field == field
    assert replicate.requests == []


async def test_missing_api_key_fails_before_network(
    replicate: ReplicateEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REPLICATE_API_TOKEN", raising=False)
    config = VideoGenerationConfig(
        provider="replicate", model="kwaivgi/kling-v2.6", base_url=replicate.base_url
    )
    with pytest.raises(AuthenticationError, match="REPLICATE_API_TOKEN"):
        await generate_video_async(config, VideoGenerationRequest(prompt="p"))
    assert replicate.requests == []


# ----------------------------------------------------------------------------- HTTP errors


async def test_422_problem_becomes_validation_error_with_fields(
    replicate: ReplicateEmulator,
) -> None:
    replicate.inject_status(
        422,
        {
            "type": "https://replicate.com/docs/reference/http#422",
            "title": "Input validation failed",
            "status": 422,
            "detail": "- input.duration: duration must be one of the following: 5, 10",
            "invalid_fields": [
                {
                    "type": "enum",
                    "field": "input.duration",
                    "description": "duration must be one of the following: 5, 10",
                }
            ],
        },
        path=CREATE,
        content_type="application/problem+json",
    )
    with pytest.raises(ValidationError) as info:
        await generate_video_async(video_config(replicate), VideoGenerationRequest(prompt="p"))
    assert info.value.field == "duration"
    assert info.value.errors == [
        {"field": "duration", "message": "duration must be one of the following: 5, 10"}
    ]
    assert "Input validation failed" in str(info.value)
    assert len(creates(replicate)) == 1  # never retried


@pytest.mark.parametrize(
    ("status", "error_type", "retryable"),
    [(401, AuthenticationError, False), (403, AuthenticationError, False)],
)
async def test_auth_and_billing_errors_are_final(
    replicate: ReplicateEmulator, status: int, error_type: type[Exception], retryable: bool
) -> None:
    replicate.inject_status(status, path=CREATE, times=None)
    config = video_config(replicate, fallback_configs=[mock_video()])
    with pytest.raises(error_type) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="p"))
    assert getattr(info.value, "status_code", None) == status
    assert info.value.retryable is retryable  # type: ignore[attr-defined]
    assert len(creates(replicate)) == 1
    metadata = info.value.execution_metadata  # type: ignore[attr-defined]
    assert metadata.total_attempts == 1 and not metadata.fallback_triggered


async def test_billing_error_falls_back_without_retrying(replicate: ReplicateEmulator) -> None:
    replicate.inject_status(402, path=CREATE, times=None)
    config = video_config(replicate, fallback_configs=[mock_video()])
    response = await generate_video_async(config, VideoGenerationRequest(prompt="p"))
    assert response.is_mock
    assert len(creates(replicate)) == 1  # this account cannot pay: no same-config retry
    metadata = response.execution_metadata
    assert metadata is not None
    assert "add credit" in (metadata.attempts[0].error_message or "")


async def test_wrong_key_is_an_authentication_error(replicate: ReplicateEmulator) -> None:
    with pytest.raises(AuthenticationError) as info:
        await generate_video_async(
            video_config(replicate, api_key="r8_wrong"), VideoGenerationRequest(prompt="p")
        )
    assert info.value.status_code == 401
    assert "r8_wrong" not in str(info.value)


async def test_429_retry_after_is_honoured_then_succeeds(replicate: ReplicateEmulator) -> None:
    replicate.inject_status(429, path=CREATE, retry_after=2)
    response = await generate_video_async(
        video_config(replicate), VideoGenerationRequest(prompt="p")
    )
    assert len(creates(replicate)) == 2
    attempts = response.execution_metadata.attempts  # type: ignore[union-attr]
    assert [a.error_type for a in attempts] == ["RateLimitError", None]


async def test_persistent_429_surfaces_retry_after(replicate: ReplicateEmulator) -> None:
    replicate.inject_status(429, path=CREATE, retry_after=7, times=None)
    with pytest.raises(RateLimitError) as info:
        await generate_video_async(video_config(replicate), VideoGenerationRequest(prompt="p"))
    assert info.value.retry_after == 7.0
    assert len(creates(replicate)) == 3  # 1 + FAST_RETRY.max_retries


async def test_5xx_is_retried_then_falls_back_to_mock(replicate: ReplicateEmulator) -> None:
    replicate.inject_status(503, path=CREATE, times=None)
    response = await generate_video_async(
        video_config(replicate, fallback_configs=[mock_video()]), VideoGenerationRequest(prompt="p")
    )
    assert response.provider == "mock" and response.is_mock
    metadata = response.execution_metadata
    assert metadata is not None and metadata.fallback_triggered
    assert [a.error_type for a in metadata.attempts] == ["HTTPError"] * 3 + [None]
    assert len(creates(replicate)) == 3


async def test_fallback_from_mock_to_replicate(replicate: ReplicateEmulator) -> None:
    primary = VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        mock=MockConfig(enabled=True, responses=[MockResponse(error="server_error")]),
        retry=FAST_RETRY,
        fallback_configs=[video_config(replicate)],
    )
    response = await generate_video_async(primary, VideoGenerationRequest(prompt="p"))
    assert response.provider == "replicate"
    assert response.execution_metadata.fallback_triggered  # type: ignore[union-attr]
    assert len(creates(replicate)) == 1


async def test_transient_poll_error_is_tolerated(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, queued=0.1, running=0.3)
    replicate.inject_status(500, path=r"/v1/predictions/\w+$", method="GET")
    response = await generate_video_async(
        video_config(replicate), VideoGenerationRequest(prompt="p")
    )
    assert response.video == {"content": sample_video(), "content_type": "video/mp4"}
    assert len(creates(replicate)) == 1


async def test_dropped_connection_and_malformed_json_are_retried(
    replicate: ReplicateEmulator,
) -> None:
    replicate.inject_malformed(path=CREATE, method="POST", status=502)
    response = await generate_video_async(
        video_config(replicate), VideoGenerationRequest(prompt="p")
    )
    attempts = response.execution_metadata.attempts  # type: ignore[union-attr]
    assert [a.error_type for a in attempts] == ["HTTPError", None]  # an answered 502: resent
    replicate.reset()
    replicate.inject_drop(path=CREATE, method="POST")
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(video_config(replicate), VideoGenerationRequest(prompt="p"))
    assert info.value.outcome_unknown
    assert len(creates(replicate)) == 1  # sent once: a resend could pay twice


async def test_dropped_connection_everywhere_is_a_connection_error(
    replicate: ReplicateEmulator,
) -> None:
    replicate.inject_drop(path=CREATE, times=None)
    with pytest.raises(HTTPConnectionError):
        await generate_video_async(video_config(replicate), VideoGenerationRequest(prompt="p"))


# ----------------------------------------------------------------------------- job failures


async def test_failed_prediction_is_generation_failed_and_not_retried(
    replicate: ReplicateEmulator,
) -> None:
    replicate.job_script = JobScript.failure(
        "Invalid image: could not decode start_image", running=0.05
    )
    with pytest.raises(GenerationFailedError) as info:
        await generate_video_async(video_config(replicate), VideoGenerationRequest(prompt="p"))
    assert "could not decode start_image" in str(info.value)
    assert info.value.retryable and not info.value.retry_same_config  # next config only
    assert info.value.request_id == next(iter(replicate.jobs))
    assert info.value.raw_response["status"] == "failed"
    assert len(creates(replicate)) == 1
    replicate.reset()
    replicate.job_script = JobScript.failure(
        "Invalid image: could not decode start_image", running=0.05
    )
    moved_on = await generate_video_async(
        video_config(replicate, fallback_configs=[mock_video()]),
        VideoGenerationRequest(prompt="p"),
    )
    assert moved_on.provider == "mock" and len(creates(replicate)) == 1


async def test_transient_model_failure_is_retried(replicate: ReplicateEmulator) -> None:
    replicate.queue_job_scripts(JobScript.failure("CUDA error: out of memory", running=0.05))
    response = await generate_video_async(
        video_config(replicate), VideoGenerationRequest(prompt="p")
    )
    assert len(creates(replicate)) == 2
    assert response.execution_metadata.attempts[0].error_type == "GenerationFailedError"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "error",
    [
        "NSFW content detected. Try running it again, or try a different prompt.",
        "E005: The input or output was flagged as sensitive",
    ],
)
async def test_safety_failures_are_content_moderation(
    replicate: ReplicateEmulator, error: str
) -> None:
    replicate.job_script = JobScript.failure(error, running=0.05)
    with pytest.raises(ContentModerationError) as info:
        await generate_image_async(
            image_config(
                replicate,
                fallback_configs=[ImageGenerationConfig(provider="mock", model="mock-image")],
            ),
            ImageGenerationRequest(prompt="p"),
        )
    assert info.value.retryable is False
    assert not info.value.execution_metadata.fallback_triggered  # type: ignore[union-attr]


async def test_canceled_prediction_is_generation_failed(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, queued=0.05, running=5)

    def cancel_then_answer(request: web.Request, rec: RecordedRequest) -> None:
        replicate.jobs[request.match_info["prediction_id"]].cancel()

    replicate.inject_custom(cancel_then_answer, path=r"/v1/predictions/\w+$", method="GET")
    with pytest.raises(GenerationFailedError, match="canceled") as info:
        await generate_video_async(video_config(replicate), VideoGenerationRequest(prompt="p"))
    assert info.value.retryable is False


async def test_422_with_moderation_wording_is_content_moderation(
    replicate: ReplicateEmulator,
) -> None:
    replicate.inject_status(
        422,
        {
            "title": "Input flagged",
            "status": 422,
            "detail": "The prompt was flagged as sensitive (E005)",
        },
        path=CREATE,
    )
    with pytest.raises(ContentModerationError):
        await generate_image_async(image_config(replicate), ImageGenerationRequest(prompt="p"))


# ----------------------------------------------------------------------------- timeouts


async def test_timeout_cancels_upstream_before_falling_back(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, queued=0.05, running=30)
    events: list[tuple[float, str | None]] = []

    def observe(update: VideoGenerationUpdate) -> None:
        events.append((time.monotonic(), update.provider))

    config = video_config(replicate, timeout=0.8, fallback_configs=[mock_video()])
    response = await generate_video_async(
        config, VideoGenerationRequest(prompt="p"), on_progress=observe
    )
    assert response.provider == "mock"
    cancel = replicate.last(r"/cancel$", "POST")
    job_id = next(iter(replicate.jobs))
    assert cancel.path == f"/v1/predictions/{job_id}/cancel"
    first_mock_event = min(t for t, provider in events if provider == "mock")
    assert cancel.received_at < first_mock_event
    attempt = response.execution_metadata.attempts[0]  # type: ignore[union-attr]
    assert attempt.error_type == "TarashTimeoutError" and attempt.cancelled_upstream is True
    assert replicate.jobs[job_id].state.value == "cancelled"


async def test_timeout_without_fallback_reports_the_cancel(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, running=30)
    with pytest.raises(TimeoutError) as info:
        await generate_video_async(
            video_config(replicate, timeout=0.6), VideoGenerationRequest(prompt="p")
        )
    assert info.value.cancelled_upstream is True
    assert replicate.count(r"/cancel$", "POST") == 1


# ----------------------------------------------------------------------------- durable jobs


async def test_submitted_job_can_be_resumed(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, running=0.2)
    config = video_config(replicate)
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    assert job.endpoints["cancel"].endswith(f"/v1/predictions/{job.provider_request_id}/cancel")
    restored = JobRef.from_json(job.to_json())
    response = await wait_for_job_async(restored, config)
    assert response.provider_request_id == job.provider_request_id
    assert response.video == {"content": sample_video(), "content_type": "video/mp4"}


async def test_sdk_never_retries_on_its_own(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, running=5)
    config = video_config(replicate)
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    replicate.inject_status(503, path=r"/v1/predictions/\w+$", method="GET", times=None)
    with pytest.raises(HTTPError) as info:
        await get_job_status_async(job, config)
    assert info.value.status_code == 503 and info.value.retryable
    # The SDK's RetryTransport would have sent up to 10 GETs; the orchestrator decides.
    assert replicate.count(r"/v1/predictions/\w+$", "GET") == 1
    replicate.clear_faults()
    status = await get_job_status_async(job, config)
    assert status.state in ("queued", "processing")
    assert await cancel_job_async(job, config) is True
    assert replicate.jobs[job.provider_request_id].state.value == "cancelled"


# ----------------------------------------------------------------------------- exactly once


async def test_cancel_answered_succeeded_returns_the_paid_output(
    replicate: ReplicateEmulator,
) -> None:
    """Polls keep failing while the prediction finishes; the cancel sent before giving up
    answers ``succeeded``: its output is returned, nothing is submitted again."""
    replicate.job_script = JobScript.success(None, queued=0.05, running=0.2)
    replicate.inject_status(503, path=r"/v1/predictions/\w+$", method="GET", times=None)
    fallback = VideoGenerationConfig(provider="mock", model="mock-video")
    response = await generate_video_async(
        video_config(replicate, fallback_configs=[fallback]), VideoGenerationRequest(prompt="p")
    )
    assert response.provider == "replicate" and response.video
    assert len(creates(replicate)) == 1
    assert replicate.count(r"/cancel$", "POST") == 1


async def test_cancel_job_of_a_finished_prediction_keeps_it(replicate: ReplicateEmulator) -> None:
    replicate.job_script = JobScript.success(None, queued=0.01, running=0.01)
    job = await submit_job_async(video_config(replicate), VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    time.sleep(0.2)
    assert await cancel_job_async(job, video_config(replicate)) is False
    assert replicate.count(r"/cancel$", "POST") == 0  # looked first: nothing to cancel
    response = await wait_for_job_async(job, video_config(replicate))
    assert response.video


async def test_a_lost_create_answer_is_reconciled_from_the_prediction_list(
    replicate: ReplicateEmulator,
) -> None:
    """Replicate created the prediction but its answer was lost: the gateway finds it in
    the account's prediction list (same input, created since the send) and waits for
    it — no second create, no fallback."""
    replicate.job_script = JobScript.success(None, queued=0.05, running=0.2)
    replicate.inject(FaultKind.DROP, path=CREATE, method="POST", after=True)
    fallback = VideoGenerationConfig(provider="mock", model="mock-video")
    response = await generate_video_async(
        video_config(replicate, fallback_configs=[fallback]), VideoGenerationRequest(prompt="p")
    )
    assert response.provider == "replicate" and response.video
    assert len(replicate.jobs) == 1  # exactly one prediction upstream
    assert replicate.count(r"^/v1/predictions$", "GET") == 1
    meta = response.execution_metadata
    assert meta is not None and meta.total_attempts == 1


async def test_reconciliation_never_guesses_between_identical_predictions(
    replicate: ReplicateEmulator,
) -> None:
    replicate.job_script = JobScript.success(None, queued=0.05, running=5)
    config = video_config(replicate)
    twin = await submit_job_async(config, VideoGenerationRequest(prompt="same"))
    assert isinstance(twin, JobRef)
    from tarash.tarash_gateway import get_job_store

    # A twin we know is never claimed; mark it finished so that it counts as a candidate.
    await get_job_store().update(twin, "completed")
    replicate.inject(FaultKind.DROP, path=CREATE, method="POST", after=True)
    with pytest.raises(HTTPConnectionError) as info:
        await generate_video_async(config, VideoGenerationRequest(prompt="same"))
    assert info.value.outcome_unknown  # two matching predictions: ambiguous, not adopted
    assert len(replicate.jobs) == 2
