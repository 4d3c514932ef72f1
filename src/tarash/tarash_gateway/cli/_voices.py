"""``tarash voices PROVIDER``: the voice ids a TTS/STS provider accepts for ``--voice``.

Where the installed SDK types the voices (OpenAI's speech ``voice`` literal, Sarvam's
``TextToSpeechSpeaker``) the list comes from there, offline; ElevenLabs' and Cartesia's
voices (and Hume's) belong to the account, so they are asked of the API through the SDK
(``GET /v2/voices``, ``GET /voices``, ``GET /v0/tts/voices``). The mock takes any voice id.
"""

from __future__ import annotations

import asyncio
import json
import typing
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import CliError
from tarash.tarash_gateway.cli._options import BaseUrlOpt, ConfigOpt, JsonOpt
from tarash.tarash_gateway.cli._runner import guarded, setup
from tarash.tarash_gateway.cli._settings import (
    canonical_provider,
    load_settings,
    provider_status,
)

if TYPE_CHECKING:
    from tarash.tarash_gateway.cli._config import CliSettings

__all__ = ["DEFAULT_VOICES", "voices"]

DEFAULT_VOICES: dict[str, str] = {
    # What the handler sends when --voice is not given (openai handler: ``request.voice_id
    # or "alloy"``; the OpenAI speech API requires a voice, SDK openai 2.x, 2026-12-04).
    "openai": "alloy",
    "azure_openai": "alloy",
    # fal's MiniMax speech models: the fal handler sends voice_setting.voice_id
    # "Wise_Woman" when none is given (providers/fal/tts.py).
    "fal": "Wise_Woman",
}
"""Providers that have a default voice (others need ``--voice``)."""


@dataclass(frozen=True)
class Voice:
    """One voice a provider accepts."""

    voice_id: str
    name: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class VoiceList:
    """The voices of one provider and where the list comes from."""

    provider: str
    source: str
    voices: list[Voice]
    default: str | None
    any_id: bool = False


def _literal_values(annotation: Any) -> list[str]:
    """The string values of every ``Literal`` inside ``annotation`` (unions walked)."""
    values: list[str] = []
    if typing.get_origin(annotation) is typing.Literal:
        return [str(v) for v in typing.get_args(annotation)]
    for arg in typing.get_args(annotation):
        values.extend(_literal_values(arg))
    return values


def _openai_voices(provider: str) -> VoiceList:
    from openai.types.audio import speech_create_params

    hints = typing.get_type_hints(speech_create_params.SpeechCreateParams)
    names = _literal_values(hints["voice"])
    return VoiceList(
        provider,
        "openai SDK: SpeechCreateParams.voice (installed package)",
        [Voice(v) for v in names],
        DEFAULT_VOICES[provider],
    )


def _sarvam_voices(provider: str) -> VoiceList:
    from sarvamai.types.text_to_speech_speaker import TextToSpeechSpeaker

    names = _literal_values(TextToSpeechSpeaker)
    return VoiceList(
        provider,
        "sarvamai SDK: TextToSpeechSpeaker (installed package)",
        [Voice(v) for v in names],
        None,
    )


def _speech_config(provider: str, model: str, settings: CliSettings, base_url: str | None) -> Any:
    data: dict[str, Any] = {"provider": provider, "model": model}
    configured = settings.provider_settings(provider)
    if configured.api_key is not None:
        data["api_key"] = configured.api_key
    if base_url or configured.base_url:
        data["base_url"] = base_url or configured.base_url
    from tarash.tarash_gateway.models import AudioGenerationConfig

    return AudioGenerationConfig.model_validate(data)


def _typed(provider: str, exc: Exception) -> Exception:
    """An SDK failure as the gateway's typed error (auth → exit 3, HTTP, connection)."""
    from tarash.tarash_gateway.http import error_from_status, error_from_transport

    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        body = getattr(exc, "body", None)
        return error_from_status(
            status, f"listing voices failed: {body}", provider=provider, raw_response=body
        )
    return error_from_transport(exc, provider=provider)


async def _elevenlabs_voices(
    provider: str, settings: CliSettings, base_url: str | None
) -> VoiceList:
    from tarash.tarash_gateway.registry import get_handler

    config = _speech_config(provider, "eleven_multilingual_v2", settings, base_url)
    handler: Any = get_handler(provider)
    client = handler.sdk_client(config)
    try:
        page = await client.voices.search(
            page_size=100, request_options={"max_retries": 0, "timeout_in_seconds": 30}
        )
    except Exception as exc:
        raise _typed(provider, exc) from exc
    voices = [
        Voice(v.voice_id, v.name, str(v.category) if v.category else None) for v in page.voices
    ]
    return VoiceList(provider, "ElevenLabs API: GET /v2/voices (this account)", voices, None)


async def _cartesia_voices(provider: str, settings: CliSettings, base_url: str | None) -> VoiceList:
    from tarash.tarash_gateway.registry import get_handler

    config = _speech_config(provider, "sonic-3", settings, base_url)
    handler: Any = get_handler(provider)
    client = handler.sdk_client(config)
    try:
        page = await client.voices.list(limit=100, timeout=30)
    except Exception as exc:
        raise _typed(provider, exc) from exc
    voices = [Voice(v.id, v.name, getattr(v, "language", None)) for v in page.data]
    return VoiceList(provider, "Cartesia API: GET /voices (first 100)", voices, None)


async def _hume_voices(provider: str, settings: CliSettings, base_url: str | None) -> VoiceList:
    from tarash.tarash_gateway.registry import get_handler

    config = _speech_config(provider, "octave-2", settings, base_url)
    handler: Any = get_handler(provider)
    client = handler._client(config)
    voices: list[Voice] = []
    try:
        for source in ("HUME_AI", "CUSTOM_VOICE"):  # the Voice Library, then the account's
            pager = await client.tts.voices.list(
                provider=source, page_size=100, request_options={"max_retries": 0}
            )
            voices += [Voice(v.id, v.name, source) for v in pager.items or []]
    except Exception as exc:
        raise _typed(provider, exc) from exc
    return VoiceList(provider, "Hume API: GET /v0/tts/voices (first 100 of each)", voices, None)


def _list(provider: str, settings: CliSettings, base_url: str | None, out: Output) -> VoiceList:
    from tarash.tarash_gateway.cli._select import Selector

    status = provider_status(provider, settings)
    if not ({"tts", "sts"} & set(status.operations)):
        raise CliError(f"{provider} has no speech operations, so no voices")
    if provider == "mock":
        return VoiceList(provider, "the mock accepts any voice id", [], None, any_id=True)
    if provider in ("openai", "azure_openai"):
        Selector("tts", settings, out).check(provider, need_key=False)
        return _openai_voices(provider)
    if provider == "fal":
        return VoiceList(
            provider,
            "fal speech models: each model's schema names its voices (tarash models fal MODEL)",
            [],
            DEFAULT_VOICES[provider],
        )
    if provider == "sarvam":
        Selector("tts", settings, out).check(provider, need_key=False)
        return _sarvam_voices(provider)
    if provider == "elevenlabs":
        Selector("tts", settings, out).check(provider)
        return asyncio.run(_elevenlabs_voices(provider, settings, base_url))
    if provider == "hume":
        Selector("tts", settings, out).check(provider)
        return asyncio.run(_hume_voices(provider, settings, base_url))
    if provider == "cartesia":
        Selector("tts", settings, out).check(provider)
        return asyncio.run(_cartesia_voices(provider, settings, base_url))
    raise CliError(
        f"listing {provider}'s voices is not supported yet; see the provider's voice library "
        f"and pass its id with --voice"
    )


def voices(
    provider: Annotated[str, typer.Argument(metavar="PROVIDER", help="A TTS/STS provider.")],
    base_url: BaseUrlOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Voice ids for --voice (from the SDK's types, or the provider's API for account voices)."""
    out = Output(json_mode=json_out)

    def body() -> None:
        setup(out)
        settings = load_settings(config, warn=out.warning)
        name = canonical_provider(provider, option="PROVIDER")
        listing = _list(name, settings, base_url, out)
        if json_out:
            data = asdict(listing)
            out.raw(json.dumps({"ok": True, **data}, indent=2))
            return
        out.result_line(Text.assemble((name, "bold"), (f"  ({listing.source})", "dim")))
        if listing.default:
            out.result_line(Text(f"  default: {listing.default} (used when --voice is not given)"))
        elif not listing.any_id:
            out.result_line(Text("  no default voice: pass --voice ID", style="dim"))
        if listing.any_id:
            out.result_line(Text("  any --voice ID is accepted (synthetic speech)"))
        for voice in listing.voices:
            line = Text("  ")
            line.append(voice.voice_id, style="bold")
            extra = " · ".join(x for x in (voice.name, voice.category) if x)
            if extra:
                line.append(f"  {extra}", style="dim")
            out.result_line(line)

    guarded(out, None, body)
