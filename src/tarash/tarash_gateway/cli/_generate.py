"""``tarash video | image | tts | sts``: build the request, run the chain, save the result.

The library (api, models, jobs) and pydantic are imported when a command runs, not when
the module is imported, so ``tarash --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import CliError, describe_error
from tarash.tarash_gateway.cli._options import (
    REQ,
    AspectRatioOpt,
    BaseUrlOpt,
    CommonOptions,
    ConfigOpt,
    DebugOpt,
    DryRunOpt,
    FallbackOpt,
    FormatOpt,
    ImageOpt,
    JobsDbOpt,
    JsonOpt,
    MockFailOpt,
    ModelOpt,
    NegativeOpt,
    NoWaitOpt,
    OnUnsupportedOpt,
    OutputOpt,
    ParamOpt,
    PollIntervalOpt,
    ProviderOpt,
    QuietOpt,
    RetriesOpt,
    SeedOpt,
    TimeoutOpt,
    VoiceSettingsOpt,
    common_options_from,
)
from tarash.tarash_gateway.cli._runner import (
    guarded,
    jobs_db_choice,
    open_store,
    report_result,
    setup,
)
from tarash.tarash_gateway.cli._settings import (
    CATALOG,
    Operation,
    load_settings,
    provider_status,
)

if TYPE_CHECKING:
    from tarash.tarash_gateway.cli._config import CliSettings
    from tarash.tarash_gateway.jobs import JobRef
    from tarash.tarash_gateway.models import BaseGenerationConfig, BaseGenerationRequest

__all__ = ["image", "sts", "tts", "video"]


def _request_type(operation: str) -> type[BaseGenerationRequest]:
    from tarash.tarash_gateway import models

    types: dict[str, type[BaseGenerationRequest]] = {
        "video": models.VideoGenerationRequest,
        "image": models.ImageGenerationRequest,
        "tts": models.TTSRequest,
        "sts": models.STSRequest,
    }
    return types[operation]


def _generator(operation: str) -> Callable[..., Any]:
    from tarash.tarash_gateway import api

    generators: dict[str, Callable[..., Any]] = {
        "video": api.generate_video,
        "image": api.generate_image,
        "tts": api.generate_tts,
        "sts": api.generate_sts,
    }
    return generators[operation]


_IMAGE_ROLES = ("reference", "first_frame", "last_frame", "asset", "style")


_EXT_FORMATS = {
    ".wav": "wav",
    ".mp3": "mp3_44100_128",
    ".pcm": "pcm_24000",
    ".opus": "opus_48000_64",
    ".ogg": "opus_48000_64",
    ".flac": "flac",
    ".aac": "aac",
    ".ulaw": "ulaw_8000",
}


_SECRET_PARAMS = {
    "api_key",
    "apikey",
    "api-key",
    "key",
    "token",
    "api_token",
    "secret",
    "api_secret",
    "authorization",
    "access_token",
}


def _parse_params(items: Sequence[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """``--param k=v`` → extra_params; ``--param fal.k=v`` → provider_options['fal']."""
    extra: dict[str, Any] = {}
    per_provider: dict[str, dict[str, Any]] = {}
    from tarash.tarash_gateway.registry import list_providers

    known = set(list_providers()) | set(CATALOG)
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise CliError(f"--param: expected KEY=VALUE, got {item!r}")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        scope, dot, name = key.partition(".")
        target = extra
        if dot and scope in known:
            target = per_provider.setdefault(scope, {})
            key = name
        if key.lower() in _SECRET_PARAMS:
            raise CliError(
                f"--param {key}: API keys are never taken from the command line; set the "
                "provider's environment variable or put api_key in the config file"
            )
        target[key] = value
    return extra, per_provider


def _media_arg(value: str, option: str) -> str | Path:
    """A media input from the command line: an http(s)/data URL, or an existing file."""
    text = value.strip()
    if text[:8].lower().startswith(("http://", "https://", "data:")):
        return text
    path = Path(text).expanduser()
    if not path.is_file():
        raise CliError(f"{option}: no such file: {text}")
    return path


def _image_arg(value: str, role: str | None = None) -> dict[str, Any]:
    source, role_given = value, role
    if role_given is None:
        head, sep, tail = value.rpartition(":")
        if sep and tail in _IMAGE_ROLES:
            source, role_given = head, tail
        elif (
            sep
            and head
            and "/" not in tail
            and not value.lower().startswith(("http://", "https://", "data:"))
            and not Path(value).expanduser().exists()
        ):
            raise CliError(
                f"--image {value}: unknown role {tail!r}; roles: {', '.join(_IMAGE_ROLES)}"
            )
    return {"image": _media_arg(source, "--image"), "type": role_given or "reference"}


def _build_request(
    operation: str, fields: dict[str, Any], params: list[str]
) -> BaseGenerationRequest:
    from pydantic import ValidationError as PydanticValidationError

    extra, per_provider = _parse_params(params)
    data = {k: v for k, v in fields.items() if v is not None and v != []}
    if extra:
        data["extra_params"] = extra
    if per_provider:
        data["provider_options"] = per_provider
    try:
        return _request_type(operation).model_validate(data)
    except PydanticValidationError as exc:
        raise CliError(describe_error(exc, operation).message) from None


def _text_arg(value: str, name: str) -> str:
    if not value.strip():
        raise CliError(f"{name} must not be empty")
    return value


def _audio_format(value: str | None, output: str | None) -> str | None:
    if value:
        return value
    if output:
        return _EXT_FORMATS.get(Path(output).suffix.lower())
    return None


def _json_object(value: str | None, option: str) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise CliError(f"{option}: not valid JSON ({exc})") from None
    if not isinstance(parsed, dict):
        raise CliError(f"{option}: expected a JSON object like '{{\"stability\": 0.5}}'")
    return parsed


def _submitted(out: Output, job: JobRef, db: Path, chosen: bool, output: str | None) -> None:
    if out.json_mode:
        payload = {
            "ok": True,
            "submitted": True,
            "operation": job.operation,
            "request_id": job.request_id,
            "provider": job.provider,
            "model": job.model,
            "provider_request_id": job.provider_request_id,
            "job": job.model_dump(mode="json"),
        }
        out.raw(json.dumps(payload, indent=2))
        return
    if out.quiet:
        out.raw(job.request_id)
        return
    resume = f"tarash jobs resume {job.request_id}" + (f" --jobs-db {db}" if chosen else "")
    if output:
        resume += f" -o {output}"
    out.result_line(
        Text.assemble(
            ("✓ ", "bold green"),
            f"Submitted {job.operation} job ",
            (job.request_id, "bold"),
            f" to {job.provider}/{job.model}",
        )
    )
    out.result_line(Text(f"  finish it with: {resume}", style="dim"))


def _payload_json(value: Any) -> Any:
    """A prepared payload for display: media inputs by kind and size, never their bytes."""
    if isinstance(value, dict):
        return {str(k): _payload_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_payload_json(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        if isinstance(value, str) and len(value) > 200:
            return value[:80] + f"… ({len(value)} characters)"
        return value
    if isinstance(value, bytes | bytearray):
        return f"<{len(value)} bytes>"
    return f"<{type(value).__name__}>"


def _dry_run(
    out: Output,
    operation: Operation,
    config: BaseGenerationConfig,
    request: Any,
    settings: CliSettings,
) -> None:
    """Plan the chain as a real run would (handlers, SDKs, catalog, field mapping) and stop."""
    from pydantic import SecretStr

    from tarash.tarash_gateway.models import OPERATIONS as SPECS
    from tarash.tarash_gateway.orchestrator import plan_chain

    chain = []
    for item in config.chain():
        item = item.model_copy(update={"fallback_configs": None})
        if item.api_key is None and not provider_status(item.provider, settings).has_key:
            # Planning checks that a key is present; a dry run sends nothing, so a
            # placeholder lets it validate everything else.
            item = item.model_copy(update={"api_key": SecretStr("dry-run-placeholder")})
        chain.append(item)
    plans = plan_chain(SPECS[operation], chain, request)
    rows = [
        {
            "provider": plan.config.provider,
            "model": plan.config.model,
            "runs_on_mock": plan.is_mock,
            "mapping": plan.prepared.mapping_key,
            "warnings": list(plan.prepared.warnings),
            "payload": _payload_json(plan.prepared.payload),
        }
        for plan in plans
    ]
    if out.json_mode:
        out.raw(json.dumps({"ok": True, "dry_run": True, "operation": operation, "chain": rows}))
        return
    for row in rows:
        for warning in row["warnings"]:
            out.warning(warning)
    if out.quiet:
        return
    for index, row in enumerate(rows):
        role = "run" if index == 0 else f"fallback {index}"
        where = " (on the mock)" if row["runs_on_mock"] and row["provider"] != "mock" else ""
        out.result_line(
            Text.assemble(
                ("✓ ", "bold green"),
                f"{role}: ",
                (f"{row['provider']}/{row['model']}", "bold"),
                f" accepts this request{where}; it would be sent:",
            )
        )
        out.result_line(Text("  " + json.dumps(row["payload"], ensure_ascii=False), style="dim"))
    out.result_line(Text("dry run: no provider was called, nothing was paid for", style="dim"))


def _generate(
    operation: Operation, fields: Callable[[], dict[str, Any]], opts: CommonOptions
) -> None:
    """Build the request and the config chain, generate with live progress, save, report."""
    out = Output(quiet=opts.quiet, json_mode=opts.json_mode, debug=opts.debug)

    def body() -> None:
        from tarash.tarash_gateway.api import submit_job
        from tarash.tarash_gateway.cli._results import check_output_target
        from tarash.tarash_gateway.cli._select import Selector
        from tarash.tarash_gateway.jobs import JobRef

        setup(out)
        settings = load_settings(opts.config, warn=out.warning)
        collected = fields()
        if operation in ("tts", "sts") and not collected.get("voice_id"):
            collected["voice_id"] = settings.for_operation(operation).voice
        request = _build_request(operation, collected, opts.params)
        db, chosen = jobs_db_choice(opts.jobs_db, settings)
        config = Selector(operation, settings, out).chain(opts)
        if opts.dry_run:
            _dry_run(out, operation, config, request, settings)
            return
        problem = check_output_target(opts.output)
        if problem is not None:
            raise CliError(f"--output: {problem} (checked before anything is sent)")
        try:
            open_store(db)
        except CliError as exc:
            if chosen or opts.no_wait:
                raise
            # the default store is a convenience: without it the job is only in memory
            out.warning(f"{exc.message}; this job is kept in memory only")
        if opts.no_wait:
            if config.fallback_configs:
                out.warning("--no-wait submits to the first provider only; fallbacks are not used")
                config = config.model_copy(update={"fallback_configs": None})
            submitted = submit_job(config, request)
            if isinstance(submitted, JobRef):
                _submitted(out, submitted, db, chosen, opts.output)
            else:
                report_result(out, operation, submitted, opts.output)
            return
        with out.progress(f"{config.provider}/{config.model}") as display:
            response = _generator(operation)(config, request, display)
        report_result(out, operation, response, opts.output)

    guarded(out, operation, body)


def video(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="What the video shows.")],
    output: OutputOpt = None,
    duration: Annotated[
        int | None,
        typer.Option(
            "--duration",
            "-d",
            metavar="SECONDS",
            help="Length of the video. Default: the model's default.",
            rich_help_panel=REQ,
        ),
    ] = None,
    aspect_ratio: AspectRatioOpt = None,
    resolution: Annotated[
        str | None,
        typer.Option(
            "--resolution", "-r", help="360p, 480p, 720p, 1080p, 4k …", rich_help_panel=REQ
        ),
    ] = None,
    seed: SeedOpt = None,
    negative_prompt: NegativeOpt = None,
    generate_audio: Annotated[
        bool | None,
        typer.Option(
            "--generate-audio/--no-generate-audio",
            help="Ask for a soundtrack (models that can).",
            show_default=False,
            rich_help_panel=REQ,
        ),
    ] = None,
    enhance_prompt: Annotated[
        bool | None,
        typer.Option(
            "--enhance-prompt/--no-enhance-prompt",
            help="Let the model rewrite the prompt (models that can). Default: the model's.",
            show_default=False,
            rich_help_panel=REQ,
        ),
    ] = None,
    image: ImageOpt = None,
    first_frame: Annotated[
        str | None,
        typer.Option(
            "--first-frame", metavar="PATH_OR_URL", help="Start image.", rich_help_panel=REQ
        ),
    ] = None,
    last_frame: Annotated[
        str | None,
        typer.Option("--last-frame", metavar="PATH_OR_URL", help="End image.", rich_help_panel=REQ),
    ] = None,
    input_video: Annotated[
        str | None,
        typer.Option(
            "--input-video",
            metavar="PATH_OR_URL",
            help="Video to edit or extend.",
            rich_help_panel=REQ,
        ),
    ] = None,
    input_audio: Annotated[
        str | None,
        typer.Option(
            "--input-audio", metavar="PATH_OR_URL", help="Audio for lip sync.", rich_help_panel=REQ
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", min=1, help="Number of videos.", rich_help_panel=REQ),
    ] = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    fallback: FallbackOpt = None,
    param: ParamOpt = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    poll_interval: PollIntervalOpt = None,
    retries: RetriesOpt = None,
    on_unsupported: OnUnsupportedOpt = None,
    no_wait: NoWaitOpt = False,
    jobs_db: JobsDbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    mock_fail: MockFailOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Generate a video: [bold]tarash video "a red fox running through snow" -o fox.mp4[/]"""
    common = common_options_from(locals())

    def fields() -> dict[str, Any]:
        images = [_image_arg(i) for i in image or []]
        if first_frame:
            images.append(_image_arg(first_frame, "first_frame"))
        if last_frame:
            images.append(_image_arg(last_frame, "last_frame"))
        return {
            "prompt": _text_arg(prompt, "PROMPT"),
            "duration_seconds": duration,
            "aspect_ratio": aspect_ratio,
            "resolution": resolution.lower() if resolution else None,
            "seed": seed,
            "negative_prompt": negative_prompt,
            "generate_audio": generate_audio,
            "enhance_prompt": enhance_prompt,
            "image_list": images,
            "video": _media_arg(input_video, "--input-video") if input_video else None,
            "audio": _media_arg(input_audio, "--input-audio") if input_audio else None,
            "number_of_videos": count,
        }

    _generate("video", fields, common)


def image(
    prompt: Annotated[str, typer.Argument(metavar="PROMPT", help="What the image shows.")],
    output: OutputOpt = None,
    count: Annotated[
        int | None,
        typer.Option("--count", "-n", min=1, help="Number of images.", rich_help_panel=REQ),
    ] = None,
    size: Annotated[
        str | None,
        typer.Option("--size", "-s", metavar="WxH", help="e.g. 1024x1024.", rich_help_panel=REQ),
    ] = None,
    aspect_ratio: AspectRatioOpt = None,
    quality: Annotated[
        str | None, typer.Option("--quality", help="e.g. low, high, hd.", rich_help_panel=REQ)
    ] = None,
    style: Annotated[
        str | None, typer.Option("--style", help="e.g. vivid, natural.", rich_help_panel=REQ)
    ] = None,
    seed: SeedOpt = None,
    negative_prompt: NegativeOpt = None,
    image: ImageOpt = None,
    mask: Annotated[
        str | None,
        typer.Option("--mask", metavar="PATH_OR_URL", help="Inpainting mask.", rich_help_panel=REQ),
    ] = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    fallback: FallbackOpt = None,
    param: ParamOpt = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    poll_interval: PollIntervalOpt = None,
    retries: RetriesOpt = None,
    on_unsupported: OnUnsupportedOpt = None,
    no_wait: NoWaitOpt = False,
    jobs_db: JobsDbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    mock_fail: MockFailOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Generate images: [bold]tarash image "a cat in a spacesuit" -o cat.png -n 2[/]"""
    common = common_options_from(locals())

    def fields() -> dict[str, Any]:
        return {
            "prompt": _text_arg(prompt, "PROMPT"),
            "n": count,
            "size": size,
            "aspect_ratio": aspect_ratio,
            "quality": quality,
            "style": style,
            "seed": seed,
            "negative_prompt": negative_prompt,
            "image_list": [_image_arg(i) for i in image or []],
            "mask_image": _media_arg(mask, "--mask") if mask else None,
        }

    _generate("image", fields, common)


def tts(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="What to say (- reads it from stdin).")
    ],
    output: OutputOpt = None,
    voice: Annotated[
        str | None,
        typer.Option("--voice", "-v", help="Voice id of the provider.", rich_help_panel=REQ),
    ] = None,
    audio_format: FormatOpt = None,
    language: Annotated[
        str | None,
        typer.Option(
            "--language", "-l", metavar="CODE", help="e.g. en, hi-IN.", rich_help_panel=REQ
        ),
    ] = None,
    voice_settings: VoiceSettingsOpt = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    fallback: FallbackOpt = None,
    param: ParamOpt = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    poll_interval: PollIntervalOpt = None,
    retries: RetriesOpt = None,
    on_unsupported: OnUnsupportedOpt = None,
    no_wait: NoWaitOpt = False,
    jobs_db: JobsDbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    mock_fail: MockFailOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Text to speech: [bold]tarash tts "Hello there" -o hello.mp3[/]"""
    common = common_options_from(locals())

    def fields() -> dict[str, Any]:
        spoken = sys.stdin.read() if text == "-" else text
        return {
            "text": _text_arg(spoken, "TEXT"),
            "voice_id": voice,
            "output_format": _audio_format(audio_format, output),
            "language_code": language,
            "voice_settings": _json_object(voice_settings, "--voice-settings"),
        }

    _generate("tts", fields, common)


def sts(
    audio: Annotated[
        str, typer.Argument(metavar="AUDIO", help="Speech to convert: a file path or a URL.")
    ],
    voice: Annotated[
        str,
        typer.Option("--voice", "-v", help="Target voice id (required).", rich_help_panel=REQ),
    ],
    output: OutputOpt = None,
    audio_format: FormatOpt = None,
    voice_settings: VoiceSettingsOpt = None,
    provider: ProviderOpt = None,
    model: ModelOpt = None,
    fallback: FallbackOpt = None,
    param: ParamOpt = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = None,
    poll_interval: PollIntervalOpt = None,
    retries: RetriesOpt = None,
    on_unsupported: OnUnsupportedOpt = None,
    no_wait: NoWaitOpt = False,
    jobs_db: JobsDbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    mock_fail: MockFailOpt = None,
    dry_run: DryRunOpt = False,
) -> None:
    """Speech to speech (voice changer): [bold]tarash sts talk.wav --voice V -o out.wav[/]"""
    common = common_options_from(locals())

    def fields() -> dict[str, Any]:
        return {
            "audio": _media_arg(audio, "AUDIO"),
            "voice_id": voice,
            "output_format": _audio_format(audio_format, output),
            "voice_settings": _json_object(voice_settings, "--voice-settings"),
        }

    _generate("sts", fields, common)
