"""Submission, uploads, progress, status stream vs polling, sync API, base URLs, jobs, TTS."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tarash.tarash_gateway import (
    cancel_job_async,
    generate_image,
    generate_image_async,
    generate_tts_async,
    generate_video,
    generate_video_async,
    submit_job_async,
    wait_for_job_async,
)
from tarash.tarash_gateway.exceptions import TimeoutError as GatewayTimeoutError
from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.jobs import JobRef
from tarash.tarash_gateway.models import (
    ImageGenerationRequest,
    TTSRequest,
    VideoGenerationRequest,
    VideoGenerationUpdate,
)
from tarash.tarash_gateway.providers.base import AttemptContext
from tarash.tarash_gateway.providers.mock.media import make_png
from tarash.tarash_gateway.registry import get_handler
from tests.conftest import NO_RETRY
from tests.emulators.fal import FAL_API_KEY, FalEmulator, _media
from tests.emulators.harness import JobScript, SSEStream
from tests.providers.fal.conftest import (
    audio_config,
    image_config,
    submits,
    video_config,
)

pytestmark = pytest.mark.timeout(30)

REQ_P = VideoGenerationRequest(prompt="p")

PNG = make_png(16, 12, seed=3)
I2V = "fal-ai/kling-video/v2/master/image-to-video"


# --------------------------------------------------------------------------- uploads


async def test_local_path_is_uploaded_then_its_url_sent(fal: FalEmulator, tmp_path: Path) -> None:
    path = tmp_path / "start.png"
    path.write_bytes(PNG)
    request = VideoGenerationRequest(
        prompt="p", image_list=[{"image": path, "type": "first_frame"}]
    )
    await generate_video_async(video_config(fal, I2V), request)

    assert fal.count(r"^/storage/auth/token$", "POST") == 1
    upload = fal.last(r"^/files/upload$", "POST")
    assert upload.body == PNG
    assert upload.header("Content-Type") == "image/png"
    assert upload.header("X-Fal-File-Name") == "start.png"
    assert upload.header("Authorization", "").startswith("Bearer ")
    assert fal.uploads[0]["data"] == PNG
    assert submits(fal)[0].json == {"prompt": "p", "image_url": fal.uploads[0]["url"]}
    # the uploaded URL serves the same bytes
    assert fal.uploads[0]["url"].startswith(fal.base_url + "/__files__/")


@pytest.mark.parametrize(
    "media",
    [
        PNG,
        {"content": PNG, "content_type": "image/png"},
        base64.b64encode(PNG).decode(),
        "data:image/png;base64," + base64.b64encode(PNG).decode(),
    ],
    ids=["bytes", "media-content", "base64", "data-uri"],
)
async def test_bytes_and_base64_are_uploaded(fal: FalEmulator, media: Any) -> None:
    request = VideoGenerationRequest(prompt="p", image_list=[{"image": media, "type": "reference"}])
    await generate_video_async(video_config(fal, I2V), request)
    assert [u["data"] for u in fal.uploads] == [PNG]
    assert fal.uploads[0]["content_type"] == "image/png"
    assert submits(fal)[0].json["image_url"] == fal.uploads[0]["url"]


async def test_urls_pass_through_without_upload(fal: FalEmulator) -> None:
    url = "https://cdn.example.test/a.png"
    request = VideoGenerationRequest(prompt="p", image_list=[{"image": url, "type": "reference"}])
    await generate_video_async(video_config(fal, I2V), request)
    assert fal.count(r"^/(storage|files)/") == 0
    assert submits(fal)[0].json["image_url"] == url


async def test_several_uploads_reuse_one_storage_token(fal: FalEmulator) -> None:
    other = make_png(8, 8, seed=9)
    request = ImageGenerationRequest(
        prompt="p",
        image_list=[{"image": PNG, "type": "reference"}, {"image": other, "type": "style"}],
    )
    await generate_image_async(image_config(fal, "fal-ai/nano-banana/edit"), request)
    await generate_image_async(image_config(fal, "fal-ai/nano-banana/edit"), request)
    assert fal.count(r"^/storage/auth/token$") == 1
    assert [u["data"] for u in fal.uploads] == [PNG, other, PNG, other]
    first, second = submits(fal)
    assert first.json["image_urls"] == [fal.uploads[0]["url"], fal.uploads[1]["url"]]
    assert second.json["image_urls"] == [fal.uploads[2]["url"], fal.uploads[3]["url"]]


async def test_expired_storage_token_is_refreshed_once(fal: FalEmulator) -> None:
    request = VideoGenerationRequest(prompt="p", image_list=[{"image": PNG, "type": "reference"}])
    await generate_video_async(video_config(fal, I2V), request)
    fal.tokens.clear()  # the CDN forgets the token: next upload gets 401 once
    await generate_video_async(video_config(fal, I2V), request)
    assert fal.count(r"^/storage/auth/token$") == 2
    assert [r.status for r in fal.find(r"^/files/upload$")] == [200, 401, 200]
    assert len(submits(fal)) == 2


async def test_media_over_the_size_limit_is_a_validation_error(fal: FalEmulator) -> None:
    request = VideoGenerationRequest(prompt="p", image_list=[{"image": PNG, "type": "reference"}])
    with pytest.raises(ValidationError, match="limit"):
        await generate_video_async(video_config(fal, I2V, max_input_bytes=10), request)
    assert submits(fal) == []


# --------------------------------------------------------------------------- progress


def _progress_script() -> JobScript:
    return JobScript.success(
        queued=0.6,
        running=0.2,
        queue_position=2,
        logs=("Loading model", "Progress: 40%", "Progress: 80%", "Saving"),
    )


@pytest.mark.parametrize("streams", [1024, 0], ids=["stream", "polling"])
async def test_progress_events(fal: FalEmulator, streams: int) -> None:
    fal.job_script = _progress_script()
    updates: list[VideoGenerationUpdate] = []
    config = video_config(fal, poll_interval=0.03, provider_config={"max_streams": streams})
    response = await generate_video_async(
        config, VideoGenerationRequest(prompt="p"), updates.append
    )

    statuses = [u.status for u in updates]
    assert statuses[0] == "queued" and statuses[-1] == "completed"
    assert updates[-1].result is not None and updates[-1].result.video == response.video
    positions = [u.queue_position for u in updates if u.queue_position is not None]
    assert positions and positions == sorted(positions, reverse=True)
    if streams:
        assert positions == [2, 1, 0]
    logs = [line for u in updates for line in u.logs]
    assert logs == ["Loading model", "Progress: 40%", "Progress: 80%", "Saving"]
    percents = [u.progress_percent for u in updates if u.status == "processing"]
    assert 40 in percents or 80 in percents
    assert all(u.provider_request_id == response.provider_request_id for u in updates[1:])
    job = fal.jobs[response.provider_request_id]
    if streams:
        assert job.data["streams"] == 1 and job.data["status_polls"] == 0
    else:
        assert job.data["streams"] == 0 and job.data["status_polls"] >= 2


async def test_stream_notices_completion_without_polling(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=0.3)
    config = video_config(fal, poll_interval=5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    response = await generate_video_async(config, VideoGenerationRequest(prompt="p"))
    assert loop.time() - start < 1.5  # a poll schedule with a 5 s cap would not be this quick
    job = fal.jobs[response.provider_request_id]
    assert (job.data["streams"], job.data["status_polls"], job.data["results"]) == (1, 0, 1)
    assert fal.count(r"/status$") == 0


@pytest.mark.parametrize("fault", ["404", "drop", "malformed"])
async def test_broken_status_stream_falls_back_to_polling(fal: FalEmulator, fault: str) -> None:
    fal.job_script = JobScript.success(running=0.2, logs=("a", "b"))
    path = r"/status/stream$"
    if fault == "404":
        fal.inject_status(404, path=path)
    elif fault == "drop":
        fal.inject_drop(path=path)
    else:
        fal.inject_malformed(path=path, body=b"data: {not json\n\n", status=200)
    response = await generate_video_async(
        video_config(fal, poll_interval=0.05), VideoGenerationRequest(prompt="p")
    )
    job = fal.jobs[response.provider_request_id]
    assert job.data["status_polls"] >= 1
    assert response.video


async def test_polling_after_a_broken_stream_reports_each_log_line_once(
    fal: FalEmulator,
) -> None:
    fal.job_script = JobScript.success(running=0.4, logs=("one", "two", "three", "four"))

    async def half_stream(request: web.Request, _rec: Any) -> web.StreamResponse:
        job = fal.jobs[request.path.split("/requests/")[1].split("/")[0]]
        while len(job.peek().logs) < 2:
            await asyncio.sleep(0.01)
        stream = await SSEStream.open(request)
        await stream.send(fal.status_json(job, job.peek(), logs=True))
        assert request.transport is not None
        request.transport.close()  # the connection drops mid-stream
        return stream.response

    fal.inject_custom(half_stream, path=r"/status/stream$")
    updates: list[VideoGenerationUpdate] = []
    await generate_video_async(
        video_config(fal, poll_interval=0.05), VideoGenerationRequest(prompt="p"), updates.append
    )
    logs = [line for u in updates for line in u.logs]
    assert logs == ["one", "two", "three", "four"]
    assert fal.count(r"/status$") >= 1


async def test_stream_404_turns_streaming_off_for_that_job_only(fal: FalEmulator) -> None:
    # The refusal is remembered with the job (JobRef.data), not on the shared session:
    # observing that job again polls at once, another job still gets a stream.
    fal.inject_status(404, path=r"/status/stream$")
    config = video_config(fal, provider_config={"max_streams": 7})
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    await wait_for_job_async(job, config)
    assert job.data["status_stream"] == "unsupported"
    assert fal.count(r"/status/stream$") == 1
    again = JobRef.from_json(job.to_json())  # e.g. resumed in another process
    await wait_for_job_async(again, config)
    assert fal.count(r"/status/stream$") == 1
    other = await generate_video_async(config, VideoGenerationRequest(prompt="p"))
    assert fal.jobs[other.provider_request_id].data["streams"] == 1
    assert fal.count(r"/status/stream$") == 2


async def test_stream_slots_are_bounded_and_overflow_polls(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=0.3)
    config = video_config(fal, provider_config={"max_streams": 2})
    responses = await asyncio.gather(
        *(generate_video_async(config, VideoGenerationRequest(prompt=str(i))) for i in range(5))
    )
    streams = sum(fal.jobs[r.provider_request_id].data["streams"] for r in responses)
    polled = [r for r in responses if fal.jobs[r.provider_request_id].data["status_polls"]]
    assert streams == 2 and len(polled) == 3
    session = get_handler("fal").session(config)
    assert session.streams.active == 0 and session.requests.active == 0


# --------------------------------------------------------------------------- sync API


def test_generate_video_sync(fal: FalEmulator) -> None:
    updates: list[VideoGenerationUpdate] = []
    response = generate_video(
        video_config(fal, "fal-ai/veo3.1/fast"),
        VideoGenerationRequest(prompt="p", duration_seconds=4),
        on_progress=updates.append,
    )
    assert submits(fal)[0].json == {"prompt": "p", "duration": "4s"}
    assert response.video.startswith(fal.base_url)
    assert response.file_size == len(_media()["video.mp4"][0])
    assert response.seed == 42
    assert updates[-1].status == "completed"
    assert response.execution_metadata is not None
    assert response.execution_metadata.attempts[0].request_id == response.provider_request_id


def test_generate_image_sync_with_upload(fal: FalEmulator) -> None:
    response = generate_image(
        image_config(fal, "fal-ai/flux-pro/kontext"),
        ImageGenerationRequest(prompt="p", n=2, image_list=[{"image": PNG, "type": "reference"}]),
    )
    assert submits(fal)[0].json == {
        "prompt": "p",
        "num_images": 2,
        "image_url": fal.uploads[0]["url"],
    }
    assert len(response.images) == 2
    assert response.seed == 1234
    assert response.revised_prompt == "p"


async def test_video_bytes_are_downloadable(fal: FalEmulator) -> None:
    response = await generate_video_async(video_config(fal), VideoGenerationRequest(prompt="p"))
    assert await response.read_bytes_async() == _media()["video.mp4"][0]


# --------------------------------------------------------------------------- URLs and sessions


async def test_status_urls_use_owner_alias_only(fal: FalEmulator) -> None:
    model = "fal-ai/kling-video/v2.1/master/text-to-video"
    job = await submit_job_async(video_config(fal, model), VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    assert submits(fal)[0].path == f"/{model}"
    base = f"{fal.base_url}/fal-ai/kling-video/requests/{job.provider_request_id}"
    assert job.endpoints == {
        "status": base + "/status",
        "response": base,
        "cancel": base + "/cancel",
    }
    assert job.data == {"app_id": model}
    assert FAL_API_KEY not in job.to_json()
    response = await wait_for_job_async(JobRef.from_json(job.to_json()), video_config(fal, model))
    assert response.provider_request_id == job.provider_request_id


def test_emulator_enforces_the_sub_path_rule_and_key(fal: FalEmulator) -> None:
    import httpx

    headers = {"Authorization": f"Key {FAL_API_KEY}"}
    model = "fal-ai/kling-video/v2/master/text-to-video"
    with httpx.Client(base_url=fal.base_url, headers=headers, timeout=5) as http:
        submitted = http.post(f"/{model}", json={"prompt": "p"}).json()
        request_id = submitted["request_id"]
        assert submitted["status_url"] == (
            f"{fal.base_url}/fal-ai/kling-video/requests/{request_id}/status"
        )
        assert http.get(f"/{model}/requests/{request_id}/status").status_code == 404
        ok = http.get(f"/fal-ai/kling-video/requests/{request_id}/status")
        assert ok.status_code == 200 and ok.json()["status"] in ("IN_QUEUE", "IN_PROGRESS")
        denied = httpx.get(submitted["status_url"], headers={"Authorization": "Key nope"})
        assert denied.status_code == 401 and "Key" in denied.json()["detail"]


async def test_provider_config_urls_override_base_url(fal: FalEmulator) -> None:
    config = video_config(
        fal,
        I2V,
        base_url="http://127.0.0.1:9",  # nothing listens there
        provider_config={
            "queue_url": fal.base_url,
            "rest_url": fal.base_url,
            "cdn_url": fal.base_url,
        },
    )
    request = VideoGenerationRequest(prompt="p", image_list=[{"image": PNG, "type": "reference"}])
    response = await generate_video_async(config, request)
    assert response.video and fal.uploads


async def test_two_base_urls_concurrently_never_mix(
    fal: FalEmulator, other_fal: FalEmulator
) -> None:
    fal.job_script = other_fal.job_script = JobScript.success(running=0.2)
    requests = [VideoGenerationRequest(prompt=f"p{i}") for i in range(6)]
    results = await asyncio.gather(
        *(
            generate_video_async(video_config(fal if i % 2 else other_fal), r)
            for i, r in enumerate(requests)
        )
    )
    assert sorted(r.json["prompt"] for r in submits(fal)) == ["p1", "p3", "p5"]
    assert sorted(r.json["prompt"] for r in submits(other_fal)) == ["p0", "p2", "p4"]
    for i, result in enumerate(results):
        emu = fal if i % 2 else other_fal
        assert result.video.startswith(emu.base_url)


async def test_sessions_are_reused_per_key_and_base_url(
    fal: FalEmulator, other_fal: FalEmulator
) -> None:
    handler = get_handler("fal")
    a = handler.session(video_config(fal))
    assert handler.session(video_config(fal, "fal-ai/veo3.1")) is a
    assert handler.session(video_config(other_fal)) is not a
    assert handler.session(video_config(fal, api_key="other-key")) is not a
    import fal_client

    assert isinstance(a.sdk, fal_client.AsyncClient)
    assert a.sdk.key == FAL_API_KEY


async def test_requests_carry_fal_client_identity_and_key(fal: FalEmulator) -> None:
    await generate_video_async(video_config(fal), VideoGenerationRequest(prompt="p"))
    for rec in fal.requests:
        if rec.path.startswith("/__"):
            continue
        assert rec.header("Authorization") == f"Key {FAL_API_KEY}"
        assert (rec.header("User-Agent") or "").startswith("fal-client/")


async def test_key_from_environment(fal: FalEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", FAL_API_KEY)
    config = video_config(fal, api_key=None)
    assert (await generate_video_async(config, VideoGenerationRequest(prompt="p"))).video


async def test_key_id_and_secret_from_environment(
    fal: FalEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    fal.api_key = "id123:secret456"
    try:
        monkeypatch.delenv("FAL_KEY", raising=False)
        monkeypatch.setenv("FAL_KEY_ID", "id123")
        monkeypatch.setenv("FAL_KEY_SECRET", "secret456")
        config = video_config(fal, api_key=None)
        assert (await generate_video_async(config, VideoGenerationRequest(prompt="p"))).video
    finally:
        fal.api_key = FAL_API_KEY


# --------------------------------------------------------------------------- jobs API


async def test_cancel_job_confirms(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(queued=5.0, queue_position=3)
    config = video_config(fal)
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    assert await cancel_job_async(job, config) is True
    assert fal.last(r"/cancel$", "PUT").status == 202
    assert fal.cancelled == [job.provider_request_id]


async def test_cancel_of_finished_job_is_already_completed(fal: FalEmulator) -> None:
    config = video_config(fal)
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    await wait_for_job_async(job, config)
    ctx = AttemptContext(request_id="tg_x", operation="video", config=config, provider="fal")
    assert await get_handler("fal").cancel(ctx, job) == "already_completed"
    assert fal.last(r"/cancel$", "PUT").status == 400


async def test_cancel_outcomes_of_the_handler(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=30.0)
    config = video_config(fal)
    ctx = AttemptContext(request_id="tg_x", operation="video", config=config, provider="fal")
    handler = get_handler("fal")
    job = await submit_job_async(config, VideoGenerationRequest(prompt="p"))
    assert isinstance(job, JobRef)
    assert await handler.cancel(ctx, job) == "cancelled"
    gone = job.model_copy(update={"provider_request_id": "nope", "endpoints": {}})
    assert await handler.cancel(ctx, gone) == "not_found"
    fal.inject_status(200, {"status": "IN_PROGRESS"}, path=r"/cancel$")
    assert await handler.cancel(ctx, job) is False  # an answer that confirms nothing


async def test_cancel_of_unknown_job_is_not_confirmed(fal: FalEmulator) -> None:
    config = video_config(fal)
    job = JobRef(
        provider="fal",
        model="fal-ai/veo3.1",
        operation="video",
        provider_request_id="does-not-exist",
        request_id="tg_x",
        base_url=fal.base_url,
    )
    ctx = AttemptContext(request_id="tg_x", operation="video", config=config, provider="fal")
    assert await get_handler("fal").cancel(ctx, job) == "not_found"
    assert fal.last(r"/cancel$", "PUT").path == "/fal-ai/veo3.1/requests/does-not-exist/cancel"


async def test_timeout_with_unconfirmed_cancel_keeps_the_job(fal: FalEmulator) -> None:
    fal.job_script = JobScript.success(running=30.0)
    fal.inject_status(404, {"status": "NOT_FOUND"}, path=r"/cancel$", times=None)
    with pytest.raises(GatewayTimeoutError) as info:
        await generate_video_async(video_config(fal, timeout=0.4, retry=NO_RETRY), REQ_P)
    assert info.value.cancelled_upstream is False
    assert info.value.job is not None
    assert info.value.job.provider_request_id in fal.jobs


async def test_sessions_are_closed_by_aclose_clients(fal: FalEmulator) -> None:
    from tarash.tarash_gateway.http import aclose_clients

    config = video_config(fal)
    await generate_video_async(config, REQ_P)
    session = get_handler("fal").session(config)
    assert session.requests.shards and session.streams.shards
    clients = [s.client for s in session.requests.shards + session.streams.shards]
    await aclose_clients()
    assert session.requests.shards == [] and session.streams.shards == []
    assert all(c.is_closed for c in clients)
    assert get_handler("fal").session(config) is not session


# --------------------------------------------------------------------------- TTS


async def test_tts_minimax(fal: FalEmulator) -> None:
    request = TTSRequest(
        text="hello there",
        voice_id="Deep_Voice_Man",
        voice_settings={"speed": 1.2, "pitch": 2, "emotion": "happy"},
        output_format="mp3_32000_128",
        language_code="en-US",
    )
    response = await generate_tts_async(audio_config(fal), request)
    assert submits(fal)[0].json == {
        "text": "hello there",
        "voice_setting": {
            "voice_id": "Deep_Voice_Man",
            "speed": 1.2,
            "pitch": 2,
            "emotion": "happy",
        },
        "audio_setting": {"format": "mp3", "sample_rate": 32000, "bitrate": 128000},
        "language_boost": "English",
    }
    assert response.audio_bytes == _media()["audio.wav"][0]
    assert response.content_type == "audio/wav"
    assert response.duration == 0.3


async def test_tts_minimax_26_uses_prompt(fal: FalEmulator) -> None:
    await generate_tts_async(
        audio_config(fal, "fal-ai/minimax/speech-2.6-turbo"), TTSRequest(text="hi")
    )
    body = submits(fal)[0].json
    assert body["prompt"] == "hi" and "text" not in body


async def test_tts_elevenlabs_and_kokoro(fal: FalEmulator) -> None:
    await generate_tts_async(
        audio_config(fal, "fal-ai/elevenlabs/tts/multilingual-v2"),
        TTSRequest(text="hi", voice_id="Aria", voice_settings={"stability": 0.3}),
    )
    await generate_tts_async(
        audio_config(fal, "fal-ai/kokoro/american-english"),
        TTSRequest(text="yo", voice_id="af_heart", voice_settings={"speed": 1.5}),
    )
    assert [s.json for s in submits(fal)] == [
        {"text": "hi", "voice": "Aria", "stability": 0.3},
        {"prompt": "yo", "voice": "af_heart", "speed": 1.5},
    ]


@pytest.mark.parametrize(
    ("model", "request_fields", "field"),
    [
        ("fal-ai/minimax/speech-02-hd", {"voice_settings": {"speed": 5}}, "voice_settings.speed"),
        ("fal-ai/minimax/speech-02-hd", {"output_format": "opus_48000"}, "output_format"),
        ("fal-ai/minimax/speech-02-hd", {"output_format": "mp3_48000"}, "output_format"),
        ("fal-ai/elevenlabs/tts/multilingual-v2", {"output_format": "pcm_16000"}, "output_format"),
        ("fal-ai/kokoro/american-english", {"language_code": "fr"}, "language_code"),
        ("fal-ai/some-tts", {}, "model"),
    ],
)
async def test_tts_validation(
    fal: FalEmulator, model: str, request_fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        await generate_tts_async(audio_config(fal, model), TTSRequest(text="x", **request_fields))
    assert info.value.field == field
    assert fal.requests == []


def test_emulator_stats_endpoint(fal: FalEmulator) -> None:
    import httpx

    generate_video(video_config(fal), VideoGenerationRequest(prompt="p"))
    stats = json.loads(httpx.get(fal.base_url + "/__admin__/stats").text)
    (job,) = stats["jobs"].values()
    assert job["streams"] == 1 and job["finished_at"] is not None
