"""Sora 2 through the public API and the real ``openai`` SDK against the emulator."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tarash.tarash_gateway import (
    cancel_job_async,
    generate_video,
    generate_video_async,
    get_job_status_async,
    submit_job_async,
    wait_for_job_async,
)
from tarash.tarash_gateway.exceptions import (
    ContentModerationError,
    GenerationFailedError,
    TimeoutError,
    ValidationError,
)
from tarash.tarash_gateway.jobs import JobRef
from tarash.tarash_gateway.models import (
    VideoGenerationConfig,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)
from tests.emulators.harness import JobScript
from tests.emulators.openai import OPENAI_API_KEY, OpenAIEmulator, png_bytes, video_failure
from tests.providers.openai.helpers import video_config

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning"),
]

MOCK_FALLBACK = VideoGenerationConfig(provider="mock", model="mock-video")


def test_sora_2_text_to_video_with_progress(openai_emu: OpenAIEmulator) -> None:
    updates: list[VideoGenerationUpdate] = []
    response = generate_video(
        video_config(openai_emu, "sora-2"),
        VideoGenerationRequest(prompt="waves at night", duration_seconds=8, aspect_ratio="16:9"),
        on_progress=updates.append,
    )
    create = openai_emu.last(r"^/v1/videos$", "POST")
    assert create.content_type.startswith("multipart/form-data")
    assert create.form == {
        "prompt": "waves at night",
        "model": "sora-2",
        "seconds": "8",
        "size": "1280x720",
    }
    assert create.files == {}
    assert create.header("authorization") == f"Bearer {OPENAI_API_KEY}"

    video_id = response.provider_request_id
    assert video_id is not None
    job = openai_emu.jobs[video_id]
    # progress comes from the video object's `progress` field
    running = [u.progress_percent for u in updates if u.status == "processing"]
    assert running[:3] == [25, 50, 75]
    assert updates[-1].status == "completed"
    assert all(u.job is not None and u.job.provider_request_id == video_id for u in updates[1:-1])

    download = openai_emu.last(rf"^/v1/videos/{video_id}/content$", "GET")
    assert download.query == {"variant": "video"}
    assert download.header("accept") == "application/binary"

    assert isinstance(response.video, dict)
    assert response.video["content"] == job.data["content"]
    assert response.video["content_type"] == "video/mp4"
    assert response.content_type == "video/mp4"
    assert response.duration == 8.0
    assert (response.width, response.height) == (1280, 720)
    assert response.resolution == "720p"
    assert response.aspect_ratio == "16:9"
    assert response.file_size == len(job.data["content"])
    assert response.raw_response["status"] == "completed"
    assert response.cost is not None
    assert response.cost.amount == pytest.approx(0.8)  # $0.10/s x 8 s
    assert response.model_dump_json()  # bytes serialise


async def test_poll_after_header_sets_the_polling_cadence(openai_emu: OpenAIEmulator) -> None:
    openai_emu.poll_after_ms = 300
    response = await generate_video_async(
        video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="slow")
    )
    polls = openai_emu.find(rf"^/v1/videos/{response.provider_request_id}$", "GET")
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(polls)]
    assert len(gaps) >= 3
    assert min(gaps[:-1]) >= 0.27  # the last GET is the result fetch, right after the final poll

    openai_emu.reset()
    openai_emu.poll_after_ms = 10
    fast = await generate_video_async(
        video_config(openai_emu, "sora-2", poll_interval=5), VideoGenerationRequest(prompt="fast")
    )
    polls = openai_emu.find(rf"^/v1/videos/{fast.provider_request_id}$", "GET")
    gaps = [b.received_at - a.received_at for a, b in itertools.pairwise(polls)]
    assert max(gaps) < 0.24  # un-hinted polling waits >= 0.25 s; the 10 ms hint wins


def test_sora_2_pro_sizes_and_unpriced_estimate(openai_emu: OpenAIEmulator) -> None:
    response = generate_video(
        video_config(openai_emu, "sora-2-pro"),
        VideoGenerationRequest(
            prompt="a city", duration_seconds=12, extra_params={"size": "1792x1024"}
        ),
    )
    assert openai_emu.last(r"^/v1/videos$", "POST").form == {
        "prompt": "a city",
        "model": "sora-2-pro",
        "seconds": "12",
        "size": "1792x1024",
    }
    assert (response.width, response.height) == (1792, 1024)
    assert response.cost is None  # no verified price for this size: unknown, never 0

    # openai 3.60.0 ``VideoSize`` has no 1080p size and ``VideoSeconds`` stops at 12.
    before = len(openai_emu.requests)
    with pytest.raises(ValidationError):
        generate_video(
            video_config(openai_emu, "sora-2-pro-2025-10-06"),
            VideoGenerationRequest(prompt="a city", resolution="1080p", aspect_ratio="16:9"),
        )
    with pytest.raises(ValidationError):
        generate_video(
            video_config(openai_emu, "sora-2-pro"),
            VideoGenerationRequest(prompt="a city", duration_seconds=16),
        )
    assert len(openai_emu.requests) == before


def test_image_to_video_uploads_input_reference(openai_emu: OpenAIEmulator) -> None:
    frame = png_bytes(32, 18)
    generate_video(
        video_config(openai_emu, "sora-2"),
        VideoGenerationRequest(
            prompt="animate it",
            aspect_ratio="9:16",
            image_list=[{"image": frame, "type": "first_frame"}],
        ),
    )
    create = openai_emu.last(r"^/v1/videos$", "POST")
    reference = create.files["input_reference"]
    assert reference.data == frame
    assert reference.content_type == "image/png"
    assert reference.filename == "input_reference.png"
    assert create.form["size"] == "720x1280"


def test_remix_uses_the_remix_endpoint(openai_emu: OpenAIEmulator) -> None:
    first = generate_video(
        video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="a cat")
    )
    source = first.provider_request_id
    remix = generate_video(
        video_config(openai_emu, "sora-2"),
        VideoGenerationRequest(
            prompt="make the cat purple",
            provider_options={"openai": {"remix_video_id": source}},
        ),
    )
    call = openai_emu.last(rf"^/v1/videos/{source}/remix$", "POST")
    assert call.json == {"prompt": "make the cat purple"}
    assert openai_emu.count(r"^/v1/videos$", "POST") == 1  # only the first video was created
    assert remix.provider_request_id != source
    assert remix.raw_response["remixed_from_video_id"] == source
    assert remix.cost is None  # remix pricing is not published


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"duration_seconds": 5}, "duration_seconds"),
        ({"aspect_ratio": "1:1"}, "aspect_ratio"),
        ({"resolution": "1080p"}, "aspect_ratio"),
        ({"generate_audio": False}, "generate_audio"),
        ({"seed": 7}, "seed"),
        ({"negative_prompt": "rain"}, "negative_prompt"),
        ({"number_of_videos": 2}, "number_of_videos"),
        ({"enhance_prompt": True}, "enhance_prompt"),
        ({"image_list": [{"image": png_bytes(), "type": "last_frame"}]}, "image_list[last_frame]"),
        (
            {"image_list": [{"image": png_bytes(), "type": "reference"}] * 2},
            "image_list",
        ),
        ({"extra_params": {"size": "1792x1024"}}, "size"),
        ({"aspect_ratio": "16:9", "extra_params": {"size": "720x1280"}}, "size"),
        ({"duration_seconds": 8, "extra_params": {"remix_video_id": "video_1"}}, "seconds"),
        ({"extra_params": {"remix_video_id": ""}}, "remix_video_id"),
    ],
)
def test_invalid_video_requests_fail_before_network(
    openai_emu: OpenAIEmulator, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_video(
            video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="x", **fields)
        )
    assert info.value.field == field, info.value
    assert openai_emu.requests == []


@pytest.mark.parametrize("model", ["sora-3", "gpt-image-1", "gpt-4o-mini-tts"])
def test_non_video_models_are_rejected_before_network(
    openai_emu: OpenAIEmulator, model: str
) -> None:
    with pytest.raises(ValidationError) as info:
        generate_video(video_config(openai_emu, model), VideoGenerationRequest(prompt="x"))
    assert info.value.field == "model"
    assert openai_emu.requests == []


def test_model_family_override_validates_an_unknown_name(openai_emu: OpenAIEmulator) -> None:
    generate_video(
        video_config(openai_emu, "sora-2-2025-12-08", provider_config={"model_family": "sora-2"}),
        VideoGenerationRequest(prompt="x", duration_seconds=4),
    )
    assert openai_emu.last(r"^/v1/videos$", "POST").form["model"] == "sora-2-2025-12-08"


# ------------------------------------------------------------------------------ job failures


def test_moderated_job_raises_content_moderation_without_retry_or_fallback(
    openai_emu: OpenAIEmulator,
) -> None:
    openai_emu.job_script = JobScript.failure(
        video_failure("moderation_blocked", "The video was blocked by moderation."),
        queued=1,
        running=1,
        by_polls=True,
    )
    config = video_config(openai_emu, "sora-2", fallback_configs=[MOCK_FALLBACK])
    with pytest.raises(ContentModerationError, match="moderation_blocked") as info:
        generate_video(config, VideoGenerationRequest(prompt="x"))
    assert openai_emu.count(r"^/v1/videos$", "POST") == 1
    metadata = info.value.execution_metadata
    assert metadata is not None
    assert metadata.total_attempts == 1
    assert not metadata.fallback_triggered
    assert info.value.request_id and info.value.request_id.startswith("video_")


def test_failed_job_raises_generation_failed_not_retried(openai_emu: OpenAIEmulator) -> None:
    openai_emu.job_script = JobScript.failure(
        video_failure("video_generation_failed", "could not render"), running=1, by_polls=True
    )
    with pytest.raises(GenerationFailedError, match="could not render") as info:
        generate_video(video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="x"))
    assert not info.value.retry_same_config  # a fallback may run; this config is not paid twice
    assert openai_emu.count(r"^/v1/videos$", "POST") == 1
    assert info.value.raw_response["error"]["code"] == "video_generation_failed"


async def test_transient_job_failure_is_retried(openai_emu: OpenAIEmulator) -> None:
    openai_emu.queue_job_scripts(
        JobScript.failure(video_failure("internal_error"), running=1, by_polls=True),
        JobScript.success(running=1, by_polls=True),
    )
    response = await generate_video_async(
        video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="x")
    )
    assert openai_emu.count(r"^/v1/videos$", "POST") == 2
    assert response.execution_metadata is not None
    assert response.execution_metadata.total_attempts == 2


def test_moderated_prompt_at_create(openai_emu: OpenAIEmulator) -> None:
    with pytest.raises(ContentModerationError):
        generate_video(
            video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="moderation-test")
        )
    assert len(openai_emu.requests) == 1


async def test_transient_status_errors_are_tolerated(openai_emu: OpenAIEmulator) -> None:
    openai_emu.inject_status(503, path=r"^/v1/videos/video_[^/]+$", method="GET", times=2)
    response = await generate_video_async(
        video_config(openai_emu, "sora-2"), VideoGenerationRequest(prompt="x")
    )
    assert response.video
    assert openai_emu.count(r"^/v1/videos$", "POST") == 1


# ------------------------------------------------------------------------------ timeouts


async def test_timeout_deletes_the_job_upstream(openai_emu: OpenAIEmulator) -> None:
    openai_emu.job_script = JobScript.success(queued=10_000, by_polls=True)
    with pytest.raises(TimeoutError) as info:
        await generate_video_async(
            video_config(openai_emu, "sora-2", timeout=0.6), VideoGenerationRequest(prompt="x")
        )
    assert info.value.cancelled_upstream is True
    video_id = info.value.request_id
    assert openai_emu.count(rf"^/v1/videos/{video_id}$", "DELETE") == 1
    assert video_id not in openai_emu.jobs
    metadata = info.value.execution_metadata
    assert metadata is not None
    assert metadata.attempts[0].cancelled_upstream is True


async def test_timeout_with_unconfirmed_delete_keeps_the_job_reference(
    openai_emu: OpenAIEmulator,
) -> None:
    openai_emu.job_script = JobScript.success(queued=10_000, by_polls=True)
    openai_emu.delete_running = "reject"
    with pytest.raises(TimeoutError) as info:
        await generate_video_async(
            video_config(openai_emu, "sora-2", timeout=0.6), VideoGenerationRequest(prompt="x")
        )
    assert info.value.cancelled_upstream is False
    assert isinstance(info.value.job, JobRef)
    assert info.value.job.provider_request_id in openai_emu.jobs
    assert openai_emu.count(r"^/v1/videos/video_", "DELETE") == 1


def test_timeout_falls_back_to_the_mock_after_cancelling(openai_emu: OpenAIEmulator) -> None:
    openai_emu.job_script = JobScript.success(queued=10_000, by_polls=True)
    response = generate_video(
        video_config(openai_emu, "sora-2", timeout=0.6, fallback_configs=[MOCK_FALLBACK]),
        VideoGenerationRequest(prompt="x", duration_seconds=4),
    )
    assert response.is_mock
    assert response.provider == "mock"
    assert response.execution_metadata is not None
    assert response.execution_metadata.fallback_triggered
    assert openai_emu.count(r"^/v1/videos/video_", "DELETE") == 1


def test_fallback_from_the_mock_to_openai(openai_emu: OpenAIEmulator) -> None:
    from tarash.tarash_gateway.models import MockConfig, MockResponse

    primary = VideoGenerationConfig(
        provider="mock",
        model="mock-video",
        mock=MockConfig(enabled=True, responses=[MockResponse(error="server_error")]),
        retry=video_config(openai_emu, "sora-2").retry,
        fallback_configs=[video_config(openai_emu, "sora-2")],
    )
    response = generate_video(primary, VideoGenerationRequest(prompt="x", duration_seconds=4))
    assert response.provider == "openai"
    assert not response.is_mock
    assert openai_emu.count(r"^/v1/videos$", "POST") == 1


# ------------------------------------------------------------------------------ durable jobs


async def test_submit_then_resume_and_status(openai_emu: OpenAIEmulator) -> None:
    config = video_config(openai_emu, "sora-2")
    job = await submit_job_async(config, VideoGenerationRequest(prompt="x", duration_seconds=4))
    assert isinstance(job, JobRef)
    assert job.provider == "openai"
    assert job.data["api"] == "openai"
    restored = JobRef.from_json(job.to_json())
    status = await get_job_status_async(restored, config)
    assert status.state == "queued"
    assert status.poll_after == pytest.approx(0.01)
    response = await wait_for_job_async(restored, config)
    assert response.provider_request_id == job.provider_request_id
    assert response.duration == 4.0


async def test_cancel_job_deletes_it(openai_emu: OpenAIEmulator) -> None:
    openai_emu.job_script = JobScript.success(queued=10_000, by_polls=True)
    config = video_config(openai_emu, "sora-2")
    job = await submit_job_async(config, VideoGenerationRequest(prompt="x"))
    assert isinstance(job, JobRef)
    assert await cancel_job_async(job, config) is True
    assert openai_emu.count(rf"^/v1/videos/{job.provider_request_id}$", "DELETE") == 1
    assert job.provider_request_id not in openai_emu.jobs


async def test_rejected_delete_is_not_a_confirmed_cancel(openai_emu: OpenAIEmulator) -> None:
    openai_emu.job_script = JobScript.success(queued=10_000, by_polls=True)
    config = video_config(openai_emu, "sora-2")
    openai_emu.delete_running = "reject"
    other = await submit_job_async(config, VideoGenerationRequest(prompt="y"))
    assert isinstance(other, JobRef)
    assert await cancel_job_async(other, config) is False


async def test_a_lost_create_answer_is_reconciled_from_the_video_list(
    openai_emu: OpenAIEmulator,
) -> None:
    """The Videos API created the job but its answer was lost: ``GET /videos`` shows it
    (same model, prompt, seconds and size, created since the send), so the gateway waits
    for that job instead of paying for another one or falling back."""
    from tests.emulators.harness import FaultKind

    openai_emu.job_script = JobScript.success(running=1, by_polls=True)
    openai_emu.inject(FaultKind.DROP, path=r"^/v1/videos$", method="POST", after=True)
    before = len(openai_emu.jobs)
    response = await generate_video_async(
        video_config(openai_emu, "sora-2", fallback_configs=[MOCK_FALLBACK]),
        VideoGenerationRequest(prompt="a lost answer", duration_seconds=4),
    )
    assert response.provider == "openai" and response.video
    assert len(openai_emu.jobs) == before + 1  # one job upstream, never a second
    assert openai_emu.count(r"^/v1/videos$", "GET") == 1


async def test_cancel_job_of_a_finished_video_does_not_delete_it(
    openai_emu: OpenAIEmulator,
) -> None:
    """The Videos API "cancels" by ``DELETE /videos/{id}``, which removes a finished (paid)
    video: a finished job is looked at first and kept fetchable."""
    openai_emu.job_script = JobScript.success(running=0)
    config = video_config(openai_emu, "sora-2")
    job = await submit_job_async(config, VideoGenerationRequest(prompt="keep me"))
    assert isinstance(job, JobRef)
    deletes = openai_emu.count(r"^/v1/videos/[^/]+$", "DELETE")
    assert await cancel_job_async(job, config) is False
    assert openai_emu.count(r"^/v1/videos/[^/]+$", "DELETE") == deletes
    response = await wait_for_job_async(job, config)
    assert response.video
