"""Veo through the public API and the real google-genai SDK, on the Gemini API and Vertex AI."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from google.oauth2.credentials import Credentials

from tarash.tarash_gateway import (
    ContentModerationError,
    GenerationFailedError,
    JobRef,
    TimeoutError,
    ValidationError,
    aclose_clients,
    generate_video,
    generate_video_async,
    get_job_store,
    submit_job,
    wait_for_job,
)
from tarash.tarash_gateway._sync import run_sync
from tarash.tarash_gateway.models import VideoGenerationRequest, VideoGenerationUpdate
from tests.conftest import NO_RETRY
from tests.emulators.google import GOOGLE_API_KEY, PNG, GoogleEmulator, video_bytes
from tests.emulators.harness import JobScript
from tests.providers.google.conftest import VERTEX, video_config

PNG_B64 = base64.b64encode(PNG).decode()
JPEG = b"\xff\xd8\xff\xe0" + b"jpeg-bytes" * 4
JPEG_B64 = base64.b64encode(JPEG).decode()


def _job_id(name: str) -> str:
    return name.rsplit("/operations/", 1)[1]


# ----------------------------------------------------------------------------- Gemini API


def test_text_to_video_on_the_gemini_api(emu: GoogleEmulator) -> None:
    emu.job_script = JobScript.success(queued=0, running=2, by_polls=True)
    updates: list[VideoGenerationUpdate] = []
    response = generate_video(
        video_config(emu),
        VideoGenerationRequest(
            prompt="a lighthouse in a storm",
            duration_seconds=8,
            aspect_ratio="9:16",
            resolution="1080p",
            negative_prompt="people",
            enhance_prompt=True,
            extra_params={"personGeneration": "allow_adult"},
        ),
        on_progress=updates.append,
    )

    submit = emu.last(r":predictLongRunning$", "POST")
    assert submit.path == "/v1beta/models/veo-3.1-generate-preview:predictLongRunning"
    assert submit.header("x-goog-api-key") == GOOGLE_API_KEY
    assert submit.json == {
        "instances": [{"prompt": "a lighthouse in a storm"}],
        "parameters": {
            "sampleCount": 1,
            "durationSeconds": 8,
            "aspectRatio": "9:16",
            "resolution": "1080p",
            "negativePrompt": "people",
            "enhancePrompt": True,
            "personGeneration": "allow_adult",
        },
    }
    job_id = _job_id(response.provider_request_id or "")
    assert response.provider_request_id == f"models/veo-3.1-generate-preview/operations/{job_id}"
    polls = emu.find(r"/v1beta/models/veo-3.1-generate-preview/operations/", "GET")
    assert len(polls) == 3  # running, running, done
    download = emu.last(r"/files/", "GET")
    assert download.path == f"/v1beta/files/{job_id.lower()}0:download"
    assert download.query == {"alt": "media"}
    assert download.header("x-goog-api-key") == GOOGLE_API_KEY

    assert response.video == {"content": video_bytes(job_id, 0), "content_type": "video/mp4"}
    assert response.videos == [response.video]
    assert response.content_type == "video/mp4"
    assert (response.duration, response.resolution, response.aspect_ratio) == (8.0, "1080p", "9:16")
    assert response.file_size == len(video_bytes(job_id, 0))
    assert response.provider == "google" and not response.is_mock
    assert response.execution_metadata is not None
    assert response.execution_metadata.total_attempts == 1
    assert response.raw_response["done"] is True

    statuses = [u.status for u in updates]
    assert statuses[0] == "queued"
    assert statuses.count("processing") >= 2
    assert statuses[-1] == "completed"
    running = [u for u in updates if u.status == "processing" and u.progress_percent is None]
    assert running and all(u.job is not None for u in running)
    assert running[0].provider_request_id == response.provider_request_id
    assert updates[-1].result is not None


def test_first_last_frame_and_asset_references_are_inlined(emu: GoogleEmulator) -> None:
    response = generate_video(
        video_config(emu, model="veo-3.1-fast-generate-preview"),
        VideoGenerationRequest(
            prompt="morph",
            duration_seconds=8,
            image_list=[
                {"image": PNG, "type": "first_frame"},
                {"image": f"data:image/jpeg;base64,{JPEG_B64}", "type": "last_frame"},
                {"image": PNG, "type": "asset"},
                {"image": JPEG, "type": "asset"},
            ],
        ),
    )
    instance = emu.last(r":predictLongRunning$").json["instances"][0]
    assert instance == {
        "prompt": "morph",
        "image": {"bytesBase64Encoded": PNG_B64, "mimeType": "image/png"},
        "lastFrame": {"bytesBase64Encoded": JPEG_B64, "mimeType": "image/jpeg"},
        "referenceImages": [
            {
                "image": {"bytesBase64Encoded": PNG_B64, "mimeType": "image/png"},
                "referenceType": "ASSET",
            },
            {
                "image": {"bytesBase64Encoded": JPEG_B64, "mimeType": "image/jpeg"},
                "referenceType": "ASSET",
            },
        ],
    }
    assert isinstance(response.video, dict)


def test_first_frame_from_a_url_is_downloaded_and_inlined(emu: GoogleEmulator) -> None:
    url = emu.add_file(PNG, "image/png", filename="frame.png")
    generate_video(
        video_config(emu, model="veo-3.0-fast-generate-001"),
        VideoGenerationRequest(prompt="go", image_list=[{"image": url, "type": "reference"}]),
    )
    instance = emu.last(r":predictLongRunning$").json["instances"][0]
    assert instance["image"] == {"bytesBase64Encoded": PNG_B64, "mimeType": "image/png"}


def test_several_videos_are_all_returned(emu: GoogleEmulator) -> None:
    response = generate_video(
        video_config(emu, model="veo-3.0-generate-001"),
        VideoGenerationRequest(prompt="waves", number_of_videos=2),
    )
    job_id = _job_id(response.provider_request_id or "")
    assert emu.last(r":predictLongRunning$").json["parameters"]["sampleCount"] == 2
    assert response.videos == [
        {"content": video_bytes(job_id, 0), "content_type": "video/mp4"},
        {"content": video_bytes(job_id, 1), "content_type": "video/mp4"},
    ]
    assert emu.count(r":download$", "GET") == 2


async def test_async_generation_on_the_gemini_api(emu: GoogleEmulator) -> None:
    try:
        response = await generate_video_async(
            video_config(emu, model="veo-2.0-generate-001"),
            VideoGenerationRequest(prompt="a fox", duration_seconds=5, resolution="720p"),
        )
    finally:
        await aclose_clients()
    # Veo 2 produces 720p only: the resolution is validated but not sent.
    assert emu.last(r":predictLongRunning$").json["parameters"] == {
        "sampleCount": 1,
        "durationSeconds": 5,
    }
    assert isinstance(response.video, dict) and response.video["content"].startswith(b"\x00")


# ----------------------------------------------------------------------------- Vertex AI


def test_vertex_express_mode_returns_inline_bytes(emu: GoogleEmulator) -> None:
    emu.job_script = JobScript.success(running=1, by_polls=True)
    response = generate_video(
        video_config(emu, model="veo-3.0-generate-001", provider_config=VERTEX),
        VideoGenerationRequest(
            prompt="a robot",
            duration_seconds=6,
            aspect_ratio="16:9",
            resolution="720p",
            generate_audio=False,
            seed=42,
            image_list=[{"image": PNG, "type": "first_frame"}],
            extra_params={"fps": 24, "compression_quality": "optimized"},
        ),
    )
    submit = emu.last(r":predictLongRunning$", "POST")
    assert (
        submit.path == "/v1beta1/publishers/google/models/veo-3.0-generate-001:predictLongRunning"
    )
    assert submit.header("x-goog-api-key") == GOOGLE_API_KEY
    assert submit.json == {
        "instances": [
            {"prompt": "a robot", "image": {"bytesBase64Encoded": PNG_B64, "mimeType": "image/png"}}
        ],
        "parameters": {
            "sampleCount": 1,
            "fps": 24,
            "durationSeconds": 6,
            "seed": 42,
            "aspectRatio": "16:9",
            "resolution": "720p",
            "generateAudio": False,
            "compressionQuality": "OPTIMIZED",
        },
    }
    job_id = _job_id(response.provider_request_id or "")
    name = (
        "projects/emulator-project/locations/us-central1/publishers/google/models/"
        f"veo-3.0-generate-001/operations/{job_id}"
    )
    assert response.provider_request_id == name
    fetch = emu.last(r":fetchPredictOperation$", "POST")
    assert fetch.path == (
        "/v1beta1/projects/emulator-project/locations/us-central1/publishers/google/models/"
        "veo-3.0-generate-001:fetchPredictOperation"
    )
    assert fetch.json == {"operationName": name}
    assert response.video == {"content": video_bytes(job_id, 0), "content_type": "video/mp4"}
    assert response.seed == 42
    assert emu.count(r":download", "GET") == 0
    # Poll 1 sees it running, poll 2 done; the result reuses poll 2 (no third fetch).
    assert emu.count(r":fetchPredictOperation$") == 2


def test_vertex_project_mode_uses_the_credentials(emu: GoogleEmulator) -> None:
    config = video_config(
        emu,
        model="veo-3.1-generate-001",
        api_key=None,
        provider_config={
            "vertexai": True,
            "project": "my-proj",
            "location": "europe-west4",
            "credentials": Credentials(token=GOOGLE_API_KEY),  # type: ignore[no-untyped-call]
        },
    )
    response = generate_video(config, VideoGenerationRequest(prompt="a bird"))
    submit = emu.last(r":predictLongRunning$")
    assert submit.path == (
        "/v1beta1/projects/my-proj/locations/europe-west4/publishers/google/models/"
        "veo-3.1-generate-001:predictLongRunning"
    )
    assert submit.header("Authorization") == f"Bearer {GOOGLE_API_KEY}"
    assert submit.header("x-goog-api-key") is None
    assert emu.last(r":fetchPredictOperation$").path.startswith("/v1beta1/projects/my-proj/")
    assert isinstance(response.video, dict)


def test_vertex_gcs_output_is_left_as_a_url(emu: GoogleEmulator) -> None:
    response = generate_video(
        video_config(emu, model="veo-3.1-generate-preview", provider_config=VERTEX),
        VideoGenerationRequest(prompt="clouds", extra_params={"output_gcs_uri": "gs://bucket/out"}),
    )
    assert emu.last(r":predictLongRunning$").json["parameters"]["storageUri"] == "gs://bucket/out"
    job_id = _job_id(response.provider_request_id or "")
    assert response.video == f"gs://bucket/out/{job_id}/sample_0.mp4"
    assert response.file_size is None


# ----------------------------------------------------------------------------- outcomes


@pytest.mark.parametrize("config_kw", [{}, {"provider_config": VERTEX}], ids=["gemini", "vertex"])
def test_every_video_filtered_is_a_moderation_error(
    emu: GoogleEmulator, config_kw: dict[str, Any]
) -> None:
    emu.job_script = JobScript.success(
        {"rai_filtered": 1, "reasons": ["The prompt violates our usage guidelines."]},
        running=0.05,
    )
    with pytest.raises(ContentModerationError) as info:
        generate_video(video_config(emu, **config_kw), VideoGenerationRequest(prompt="x"))
    assert "usage guidelines" in info.value.message
    assert not info.value.retryable
    assert emu.count(r":predictLongRunning$") == 1  # never retried
    assert info.value.request_id is not None and "/operations/" in info.value.request_id


def test_partially_filtered_videos_become_a_warning(emu: GoogleEmulator) -> None:
    emu.job_script = JobScript.success({"rai_filtered": 1, "reasons": ["child safety"]})
    response = generate_video(
        video_config(emu, model="veo-3.0-generate-001"),
        VideoGenerationRequest(prompt="kids", number_of_videos=2),
    )
    assert len(response.videos) == 1
    assert any("removed 1 of the requested videos: child safety" in w for w in response.warnings)


def test_a_failed_operation_is_not_retried_when_permanent(emu: GoogleEmulator) -> None:
    emu.job_script = JobScript.failure({"code": 3, "message": "Image is not a supported format."})
    with pytest.raises(GenerationFailedError) as info:
        generate_video(video_config(emu), VideoGenerationRequest(prompt="x"))
    assert "INVALID_ARGUMENT" in info.value.message
    assert "Image is not a supported format" in info.value.message
    assert not info.value.retry_same_config  # a fallback may take it; this config is not paid again
    assert emu.count(r":predictLongRunning$") == 1
    assert (info.value.request_id or "").startswith("models/veo-3.1-generate-preview/operations/")


def test_a_transient_operation_failure_is_retried(emu: GoogleEmulator) -> None:
    emu.queue_job_scripts(JobScript.failure({"code": 13, "message": "Internal error"}))
    response = generate_video(video_config(emu), VideoGenerationRequest(prompt="x"))
    assert emu.count(r":predictLongRunning$") == 2
    assert response.execution_metadata is not None
    first = response.execution_metadata.attempts[0]
    assert first.error_type == "GenerationFailedError" and first.is_retryable


def test_an_operation_refused_for_safety_is_a_moderation_error(emu: GoogleEmulator) -> None:
    emu.job_script = JobScript.failure(
        {
            "code": 3,
            "message": "The prompt could not be submitted: it violates Google's Responsible AI practices.",
        }
    )
    with pytest.raises(ContentModerationError):
        generate_video(video_config(emu), VideoGenerationRequest(prompt="x"))
    assert emu.count(r":predictLongRunning$") == 1


def test_transient_poll_errors_are_tolerated(emu: GoogleEmulator) -> None:
    emu.job_script = JobScript.success(running=0.3)
    emu.inject_status(503, path=r"/operations/", method="GET", times=2)
    response = generate_video(video_config(emu), VideoGenerationRequest(prompt="x"))
    assert isinstance(response.video, dict)
    assert emu.count(r":predictLongRunning$") == 1


def _time_out(emu: GoogleEmulator) -> TimeoutError:
    emu.job_script = JobScript.success(running=60)
    started = time.monotonic()
    with pytest.raises(TimeoutError) as info:
        generate_video(
            video_config(emu, timeout=1.0, retry=NO_RETRY), VideoGenerationRequest(prompt="slow")
        )
    assert time.monotonic() - started < 5
    return info.value


def test_timeout_reports_that_the_operation_could_not_be_cancelled(emu: GoogleEmulator) -> None:
    error = _time_out(emu)
    assert error.cancelled_upstream is False
    assert "upstream cancel not confirmed" in error.message
    assert isinstance(error.job, JobRef)
    assert error.job.provider_request_id.startswith("models/veo-3.1-generate-preview/operations/")
    assert error.execution_metadata is not None
    assert error.execution_metadata.attempts[0].cancelled_upstream is False
    # The operation may still run (and bill): the job store keeps it as pending.
    pending = run_sync(get_job_store().pending())
    assert error.job.request_id in [record.request_id for record in pending]
    # Neither API can cancel a Veo operation: nothing but the submit and polls was sent.
    assert emu.count(r":predictLongRunning$") == 1
    assert all(
        r.path.endswith(":predictLongRunning") or "/operations/" in r.path for r in emu.requests
    )


def test_a_submitted_job_resumes_with_a_bare_config(
    emu: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submit_job(
        video_config(emu, model="veo-3.0-generate-001", provider_config=VERTEX),
        VideoGenerationRequest(prompt="resume me"),
    )
    assert isinstance(job, JobRef)
    assert job.data["mode"] == "vertex"
    restored = JobRef.from_json(job.to_json())
    monkeypatch.setenv("GOOGLE_API_KEY", GOOGLE_API_KEY)
    # No provider_config: the job itself remembers it runs on Vertex AI.
    response = wait_for_job(restored)
    assert emu.count(r":fetchPredictOperation$") >= 1
    assert emu.count(r"/v1beta/models/") == 0
    assert response.video == {
        "content": video_bytes(_job_id(job.provider_request_id), 0),
        "content_type": "video/mp4",
    }


def test_a_gemini_api_job_resumes_on_its_api_version(
    emu: GoogleEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = submit_job(video_config(emu, api_version="v1alpha"), VideoGenerationRequest(prompt="x"))
    assert isinstance(job, JobRef) and job.data["mode"] == "gemini"
    monkeypatch.setenv("GEMINI_API_KEY", GOOGLE_API_KEY)
    response = wait_for_job(JobRef.from_json(job.to_json()))
    polls = emu.find(r"/operations/", "GET")
    assert polls and all(r.path.startswith("/v1alpha/models/") for r in polls)
    assert emu.last(r":download$").path.startswith("/v1alpha/files/")
    assert response.video == {
        "content": video_bytes(_job_id(job.provider_request_id), 0),
        "content_type": "video/mp4",
    }


# ----------------------------------------------------------------------------- validation


def _rejected(
    emu: GoogleEmulator, request: VideoGenerationRequest, **config_kw: Any
) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        generate_video(video_config(emu, **config_kw), request)
    assert emu.requests == []  # rejected before anything was sent
    return info.value


@pytest.mark.parametrize(
    ("model", "fields", "field"),
    [
        ("veo-3.0-generate-001", {"duration_seconds": 5}, "duration_seconds"),
        ("veo-2.0-generate-001", {"duration_seconds": 4}, "duration_seconds"),
        ("veo-2.0-generate-001", {"resolution": "1080p"}, "resolution"),
        ("veo-3.0-generate-001", {"resolution": "4k"}, "resolution"),
        ("veo-3.1-generate-preview", {"aspect_ratio": "1:1"}, "aspect_ratio"),
        ("veo-3.1-generate-preview", {"number_of_videos": 5}, "number_of_videos"),
        ("veo-2.0-generate-001", {"generate_audio": True}, "generate_audio"),
        (
            "veo-3.0-generate-001",
            {
                "image_list": [
                    {"image": PNG, "type": "first_frame"},
                    {"image": PNG, "type": "last_frame"},
                ]
            },
            "image_list[last_frame]",
        ),
        (
            "veo-3.1-generate-preview",
            {"image_list": [{"image": PNG, "type": "asset"}] * 4},
            "image_list",
        ),
        (
            "veo-3.1-generate-preview",
            {"image_list": [{"image": PNG, "type": "style"}]},
            "image_list[style]",
        ),
        ("veo-3.1-generate-preview", {"video": PNG}, "video"),
    ],
)
def test_invalid_parameters_are_rejected_per_model(
    emu: GoogleEmulator, model: str, fields: dict[str, Any], field: str
) -> None:
    error = _rejected(emu, VideoGenerationRequest(prompt="x", **fields), model=model)
    assert error.field == field
    assert model in error.message


def test_last_frame_needs_a_first_frame(emu: GoogleEmulator) -> None:
    error = _rejected(
        emu,
        VideoGenerationRequest(prompt="x", image_list=[{"image": PNG, "type": "last_frame"}]),
    )
    assert "first_frame" in error.message


def test_vertex_only_parameters_are_rejected_on_the_gemini_api(emu: GoogleEmulator) -> None:
    error = _rejected(emu, VideoGenerationRequest(prompt="x", seed=1, generate_audio=False))
    assert error.field == "seed"
    assert [e["field"] for e in error.errors] == ["seed", "generate_audio"]
    assert "on the Gemini API does not support: seed (Vertex AI only)" in error.message
    assert "the Gemini API always adds audio" in error.message
    error = _rejected(emu, VideoGenerationRequest(prompt="x", extra_params={"fps": 24}))
    assert error.field == "extra_params.fps"
    assert "extra_params.fps (Vertex AI only)" in error.message


def test_vertex_only_parameters_can_be_dropped_with_a_warning(emu: GoogleEmulator) -> None:
    response = generate_video(
        video_config(emu, on_unsupported_param="warn"),
        VideoGenerationRequest(prompt="x", seed=3, generate_audio=True),
    )
    assert emu.last(r":predictLongRunning$").json["parameters"] == {"sampleCount": 1}
    assert any("seed (Vertex AI only)" in w for w in response.warnings)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"person_generation": "everyone"}, "allow_all"),
        ({"not_a_param": 1}, "extra_params.not_a_param"),
        ({"safety_filter_level": "block_none"}, "extra_params.safety_filter_level"),
    ],
)
def test_provider_parameters_are_validated(
    emu: GoogleEmulator, extra: dict[str, Any], message: str
) -> None:
    error = _rejected(emu, VideoGenerationRequest(prompt="x", extra_params=extra))
    assert message in error.message


def test_provider_options_override_extra_params(emu: GoogleEmulator) -> None:
    generate_video(
        video_config(emu),
        VideoGenerationRequest(
            prompt="x",
            extra_params={"person_generation": "allow_all"},
            provider_options={"google": {"person_generation": "dont_allow"}, "fal": {"x": 1}},
        ),
    )
    params = emu.last(r":predictLongRunning$").json["parameters"]
    assert params == {"sampleCount": 1, "personGeneration": "dont_allow"}


def test_a_mocked_google_config_is_validated_like_the_real_one(emu: GoogleEmulator) -> None:
    with pytest.raises(ValidationError) as info:
        generate_video(
            video_config(emu, model="veo-3.0-generate-001", mock=True),
            VideoGenerationRequest(prompt="x", duration_seconds=5),
        )
    assert info.value.field == "duration_seconds"
    response = generate_video(
        video_config(emu, model="veo-3.0-generate-001", mock=True),
        VideoGenerationRequest(prompt="x", duration_seconds=4),
    )
    assert response.is_mock
    assert emu.requests == []


def test_an_image_model_cannot_make_videos(emu: GoogleEmulator) -> None:
    error = _rejected(emu, VideoGenerationRequest(prompt="x"), model="imagen-4.0-generate-001")
    assert error.field == "model"


def test_an_unlisted_veo_model_is_sent_with_a_warning(emu: GoogleEmulator) -> None:
    response = generate_video(
        video_config(emu, model="veo-9.0-generate-preview"),
        VideoGenerationRequest(prompt="x", duration_seconds=12),
    )
    assert (
        emu.last(r":predictLongRunning$").path
        == "/v1beta/models/veo-9.0-generate-preview:predictLongRunning"
    )
    assert emu.last(r":predictLongRunning$").json["parameters"]["durationSeconds"] == 12
    assert any("no validated field mapping" in w for w in response.warnings)
