"""A stored fal JobRef cannot send the key to a host that is not fal's (or the base URL's)."""

from __future__ import annotations

import pytest

from tarash.tarash_gateway import (
    JobRef,
    ValidationError,
    VideoGenerationConfig,
    get_job_status_async,
)


def _job(status_url: str) -> JobRef:
    return JobRef(
        provider="fal",
        model="fal-ai/veo3",
        operation="video",
        provider_request_id="req-1",
        request_id="tg_1",
        endpoints={"status": status_url, "response": status_url, "cancel": status_url},
    )


@pytest.mark.parametrize(
    ("base_url", "url"),
    [
        (None, "https://attacker.example/steal"),
        (None, "https://fal.run.attacker.example/x"),
        ("http://127.0.0.1:9", "https://queue.fal.run/fal-ai/veo3/requests/req-1/status"),
    ],
)
async def test_tampered_endpoints_are_refused(base_url: str | None, url: str) -> None:
    config = VideoGenerationConfig(
        provider="fal", model="fal-ai/veo3", api_key="fal-key-123456", base_url=base_url
    )
    with pytest.raises(ValidationError, match="refusing to send credentials"):
        await get_job_status_async(_job(url), config)
