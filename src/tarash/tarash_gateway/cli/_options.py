"""Command-line options shared by several commands (typer ``Annotated`` aliases).

Each generation command repeats the shared options in its signature (typer builds
``--help`` from signatures); :func:`common_options` collects them into
:class:`CommonOptions` for the code that runs the command.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer

from tarash.tarash_gateway.cli._settings import JOBS_DB_ENV

__all__ = [
    "EXEC",
    "OUT",
    "PROV",
    "REQ",
    "AspectRatioOpt",
    "BaseUrlOpt",
    "CommonOptions",
    "ConfigOpt",
    "DebugOpt",
    "DryRunOpt",
    "FallbackOpt",
    "FormatOpt",
    "ImageOpt",
    "JobsDbOpt",
    "JsonOpt",
    "MockFailOpt",
    "ModelOpt",
    "NegativeOpt",
    "NoWaitOpt",
    "OnUnsupportedOpt",
    "OutputOpt",
    "ParamOpt",
    "PollIntervalOpt",
    "ProviderOpt",
    "QuietOpt",
    "RetriesOpt",
    "SeedOpt",
    "TimeoutOpt",
    "VoiceSettingsOpt",
    "common_options",
]

REQ = "Request"
PROV = "Provider"
OUT = "Output"
EXEC = "Execution"


OutputOpt = Annotated[
    str | None,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="File to write (several results: PATH-1.ext, PATH-2.ext …) or a directory "
        "(ending in /). Default: tarash-<command>-<id>.<ext> here.",
        rich_help_panel=OUT,
    ),
]


ProviderOpt = Annotated[
    str | None,
    typer.Option(
        "--provider",
        "-p",
        help="fal, openai, replicate, google, runway, stability, xai, elevenlabs, cartesia, "
        "hume, sarvam, azure_openai or mock. Default: $TARASH_PROVIDER, else the config "
        "file, else mock (an API key alone never selects a paid provider).",
        rich_help_panel=PROV,
    ),
]


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        help="Model id (see `tarash models PROVIDER`), or PROVIDER/MODEL as in LiteLLM "
        "(openai/gpt-image-2). Default: the config file, else the provider's default model.",
        rich_help_panel=PROV,
    ),
]


FallbackOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fallback",
        metavar="PROVIDER[:MODEL]",
        help="Try this provider/model when the previous one fails with a retryable error "
        "(repeatable, in order).",
        rich_help_panel=PROV,
    ),
]


ParamOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        metavar="KEY=VALUE",
        help="Provider-specific parameter (repeatable); VALUE is parsed as JSON when valid, "
        "else used as text. PROVIDER.KEY=VALUE applies to that provider only.",
        rich_help_panel=PROV,
    ),
]


BaseUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        metavar="URL",
        help="Endpoint of the first provider (proxy, region, local emulator).",
        rich_help_panel=PROV,
    ),
]


TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Time budget of one attempt. Default: 600 for video, 120 for images, 240 for audio.",
        rich_help_panel=EXEC,
    ),
]


PollIntervalOpt = Annotated[
    float | None,
    typer.Option(
        "--poll-interval",
        metavar="SECONDS",
        help="Longest wait between two status polls. "
        "Default: 5 for video, 2 for images, 1 for audio.",
        rich_help_panel=EXEC,
    ),
]


RetriesOpt = Annotated[
    int | None,
    typer.Option(
        "--retries",
        min=0,
        max=10,
        help="Retries on the same provider before falling back (default 2).",
        rich_help_panel=EXEC,
    ),
]


OnUnsupportedOpt = Annotated[
    str | None,
    typer.Option(
        "--on-unsupported",
        metavar="error|warn|ignore",
        help="A parameter the model does not take: fail (default), warn or drop it.",
        rich_help_panel=EXEC,
    ),
]


NoWaitOpt = Annotated[
    bool,
    typer.Option(
        "--no-wait",
        help="Submit, print the request id and exit; finish later with `tarash jobs resume`. "
        "Default: wait for the result.",
        rich_help_panel=EXEC,
    ),
]


JobsDbOpt = Annotated[
    str | None,
    typer.Option(
        "--jobs-db",
        metavar="PATH",
        help=f"SQLite file recording submits and accepted jobs (default: ${JOBS_DB_ENV}, "
        "jobs_db of the config file, else $XDG_DATA_HOME/tarash/jobs.db).",
        rich_help_panel=EXEC,
    ),
]


ConfigOpt = Annotated[
    str | None,
    typer.Option(
        "--config",
        metavar="PATH",
        help="Config file (default: $TARASH_CONFIG or ~/.config/tarash/config.toml).",
        rich_help_panel=EXEC,
    ),
]


JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON object on stdout for every outcome, failures included "
        "(progress stays on stderr).",
        rich_help_panel=OUT,
    ),
]


QuietOpt = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="Print only the saved path(s) (and errors).", rich_help_panel=OUT
    ),
]


DebugOpt = Annotated[
    bool,
    typer.Option(
        "--debug",
        help="Gateway logs, provider logs and tracebacks on stderr.",
        rich_help_panel=OUT,
    ),
]


MockFailOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--mock-fail",
        metavar="KIND",
        help="Rehearse failures offline: run the first provider on the mock and make attempt "
        "1, 2 … fail with KIND (rate_limit, server_error, timeout, connection, moderation, "
        "validation, authentication, generation_failed; ok = succeed).",
        rich_help_panel="Testing",
    ),
]


SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed",
        min=0,
        metavar="N",
        help="Random seed, for repeatable results (models that take one). Default: random.",
        rich_help_panel=REQ,
    ),
]


DryRunOpt = Annotated[
    bool,
    typer.Option(
        "--dry-run",
        help="Validate the request against each model of the chain (field mapping, catalog, "
        "limits, SDK installed) and print what would be sent; calls no provider, costs "
        "nothing, needs no API key.",
        rich_help_panel=EXEC,
    ),
]


NegativeOpt = Annotated[
    str | None,
    typer.Option("--negative-prompt", help="What to avoid.", rich_help_panel=REQ),
]


AspectRatioOpt = Annotated[
    str | None,
    typer.Option(
        "--aspect-ratio",
        "-a",
        metavar="W:H",
        help="16:9, 9:16, 1:1 … or auto.",
        rich_help_panel=REQ,
    ),
]


ImageOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--image",
        "-i",
        metavar="PATH_OR_URL[:ROLE]",
        help="Input image (repeatable); ROLE is reference (default), first_frame, last_frame, "
        "asset or style.",
        rich_help_panel=REQ,
    ),
]


FormatOpt = Annotated[
    str | None,
    typer.Option(
        "--format",
        "-f",
        metavar="FORMAT",
        help="Audio format: mp3_44100_128, wav_24000, pcm_16000, opus_48000_64 … "
        "(default: from the -o extension, else mp3_44100_128).",
        rich_help_panel=REQ,
    ),
]


VoiceSettingsOpt = Annotated[
    str | None,
    typer.Option(
        "--voice-settings",
        metavar="JSON",
        help="Provider voice settings, e.g. '{\"stability\": 0.5}'.",
        rich_help_panel=REQ,
    ),
]


@dataclass
class CommonOptions:
    """Options shared by the four generation commands."""

    output: str | None = None
    provider: str | None = None
    model: str | None = None
    fallback: list[str] = field(default_factory=list)
    params: list[str] = field(default_factory=list)
    base_url: str | None = None
    timeout: float | None = None
    poll_interval: float | None = None
    retries: int | None = None
    on_unsupported: str | None = None
    no_wait: bool = False
    jobs_db: str | None = None
    config: str | None = None
    json_mode: bool = False
    quiet: bool = False
    debug: bool = False
    mock_fail: list[str] = field(default_factory=list)
    dry_run: bool = False


def common_options(**values: Any) -> CommonOptions:
    """:class:`CommonOptions` from a command's keyword arguments (``None`` lists → empty)."""
    values["fallback"] = values.get("fallback") or []
    values["params"] = values.get("params") or []
    values["mock_fail"] = values.get("mock_fail") or []
    return CommonOptions(**values)


_PARAMETER_NAMES = {"params": "param", "json_mode": "json_out"}
"""CommonOptions fields whose command parameter is named differently."""


def common_options_from(parameters: Mapping[str, Any]) -> CommonOptions:
    """:class:`CommonOptions` picked out of a command's parameters (its ``locals()``)."""
    return common_options(
        **{
            name: parameters[_PARAMETER_NAMES.get(name, name)]
            for name in CommonOptions.__dataclass_fields__
        }
    )
