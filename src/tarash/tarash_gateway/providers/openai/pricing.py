"""Cost estimates from OpenAI's published prices (pure; no SDK import).

OpenAI's API responses carry no price, so every :class:`Cost` built here is an
*estimate* (``source="estimate"``) computed from usage the API reported and the
list price published on OpenAI's model/pricing pages. When a price is not
published for exactly what was generated (a size, a quality, text output
tokens, a remix …) the estimate is ``None`` — never a guess and never 0.
Azure OpenAI bills by region and agreement, so Azure responses get no estimate.
"""

from __future__ import annotations

from typing import Any

from tarash.tarash_gateway.models import Cost

__all__ = [
    "PRICES_AS_OF",
    "image_cost",
    "speech_cost",
    "video_cost",
]

PRICES_AS_OF = "2026-11"

# USD per 1M tokens: text input, image input, image output (OpenAI model pages).
_IMAGE_TOKEN_RATES: dict[str, tuple[float, float, float]] = {
    "gpt-image-1": (5.00, 10.00, 40.00),
    "gpt-image-1-mini": (2.00, 2.50, 8.00),
}
# USD per image (legacy DALL·E price list): (quality, size) → price.
_DALLE3_PER_IMAGE = {
    ("standard", "1024x1024"): 0.040,
    ("standard", "1792x1024"): 0.080,
    ("standard", "1024x1792"): 0.080,
    ("hd", "1024x1024"): 0.080,
    ("hd", "1792x1024"): 0.120,
    ("hd", "1024x1792"): 0.120,
}
_DALLE2_PER_IMAGE = {"256x256": 0.016, "512x512": 0.018, "1024x1024": 0.020}
# USD per second of video (OpenAI model pages), by size.
_VIDEO_PER_SECOND = {
    "sora-2": {"720x1280": 0.10, "1280x720": 0.10},
    "sora-2-pro": {"720x1280": 0.30, "1280x720": 0.30},
}
# USD per 1M input characters.
_SPEECH_PER_MCHAR = {"tts-1": 15.00, "tts-1-hd": 30.00}


def _estimate(amount: float, **detail: Any) -> Cost:
    return Cost(
        amount=round(amount, 6),
        unit="usd",
        source="estimate",
        detail={"prices_as_of": PRICES_AS_OF, **detail},
    )


def image_cost(
    family: str,
    *,
    usage: dict[str, Any] | None,
    images: int,
    size: str | None,
    quality: str | None,
) -> Cost | None:
    """Estimated cost of an image response (``None`` when no published price fits)."""
    rates = _IMAGE_TOKEN_RATES.get(family)
    if rates is not None:
        if not usage:
            return None
        details = usage.get("input_tokens_details") or {}
        text_in = details.get("text_tokens")
        image_in = details.get("image_tokens")
        output = usage.get("output_tokens")
        out_details = usage.get("output_tokens_details") or {}
        if not isinstance(text_in, int) or not isinstance(image_in, int):
            return None
        if not isinstance(output, int) or out_details.get("text_tokens"):
            return None  # text output tokens have no published price for these models
        text_rate, image_rate, output_rate = rates
        amount = (text_in * text_rate + image_in * image_rate + output * output_rate) / 1e6
        return _estimate(
            amount,
            basis="tokens",
            usd_per_1m_tokens={
                "text_input": text_rate,
                "image_input": image_rate,
                "output": output_rate,
            },
            usage={"text_input": text_in, "image_input": image_in, "output": output},
        )
    if family == "dall-e-3":
        price = _DALLE3_PER_IMAGE.get((quality or "standard", size or "1024x1024"))
    elif family == "dall-e-2":
        price = _DALLE2_PER_IMAGE.get(size or "1024x1024")
    else:
        return None
    if price is None or images <= 0:
        return None
    return _estimate(price * images, basis="per_image", usd_per_image=price, images=images)


def video_cost(family: str, *, seconds: float | None, size: str | None, remix: bool) -> Cost | None:
    """Estimated cost of a finished Sora video (``None`` for remixes and unpriced sizes)."""
    if remix or seconds is None or size is None:
        return None
    rate = _VIDEO_PER_SECOND.get(family, {}).get(size)
    if rate is None:
        return None
    return _estimate(rate * seconds, basis="per_second", usd_per_second=rate, seconds=seconds)


def speech_cost(family: str, *, characters: int) -> Cost | None:
    """Estimated cost of a speech request (``tts-1``/``tts-1-hd`` bill per input character)."""
    rate = _SPEECH_PER_MCHAR.get(family)
    if rate is None:
        return None
    return _estimate(
        characters * rate / 1e6,
        basis="characters",
        usd_per_1m_characters=rate,
        characters=characters,
    )
