"""Where the ``tarash`` command gets its settings: the provider catalog, the config file, keys.

API keys come only from each provider's conventional environment variables or
from the TOML config file — never from a command-line argument — and are never
printed: every value found is registered with the gateway's secret redactor
before anything is written to the terminal.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from tarash.tarash_gateway._secrets import is_secret_key, register_secret
from tarash.tarash_gateway.cli._errors import EXIT_USAGE, CliError
from tarash.tarash_gateway.defaults import DEFAULT_MODELS

if TYPE_CHECKING:
    from tarash.tarash_gateway.cli._config import CliSettings

MOCK_ENV = "TARASH_GATEWAY_MOCK"
"""The variable that forces the mock (the orchestrator's ``MOCK_ENV``; repeated here so that
``tarash --help`` does not import the attempt engine — tests/cli check they agree)."""


def mock_forced() -> bool:
    """Whether ``TARASH_GATEWAY_MOCK`` sends every request to the offline mock."""
    from tarash.tarash_gateway.orchestrator import mock_forced as forced

    return forced()


__all__ = [
    "CATALOG",
    "CONFIG_ENV",
    "JOBS_DB_ENV",
    "KEY_PAIRS",
    "MOCK_ENV",
    "MOCK_FAILURES",
    "OPERATIONS",
    "PROVIDER_ENV",
    "Operation",
    "ProviderInfo",
    "ProviderStatus",
    "default_config_path",
    "default_jobs_db_path",
    "load_settings",
    "mock_forced",
    "provider_status",
    "register_env_secrets",
]

Operation = Literal["video", "image", "tts", "sts"]
OPERATIONS: tuple[Operation, ...] = ("video", "image", "tts", "sts")

CONFIG_ENV = "TARASH_CONFIG"
PROVIDER_ENV = "TARASH_PROVIDER"
"""Names the provider when --provider is not given (before the config file)."""
JOBS_DB_ENV = "TARASH_JOBS_DB"

MOCK_FAILURES: tuple[str, ...] = (
    "rate_limit",
    "server_error",
    "timeout",
    "connection",
    "moderation",
    "validation",
    "authentication",
    "generation_failed",
    "ok",
)
"""Outcomes ``--mock-fail`` / ``[mock] fail`` accept (``ok`` = this attempt succeeds)."""


# ============================================================================ provider catalog


@dataclass(frozen=True)
class ProviderInfo:
    """What the command line knows about a built-in provider without importing it.

    The handler class, when it can be imported, is the authority for operations,
    key variables and default models (``default_models`` class attribute); this
    table fills in for providers whose handler is missing from the installation.
    """

    name: str
    env_vars: tuple[str, ...]
    sdk_module: str | None
    sdk_package: str | None
    extra: str | None
    operations: frozenset[Operation]
    default_models: Mapping[str, str] = field(default_factory=dict)


def _info(
    name: str,
    env_vars: tuple[str, ...],
    sdk: tuple[str, str, str] | None,
    operations: tuple[Operation, ...],
    models: Mapping[str, str],
) -> ProviderInfo:
    module, package, extra = sdk if sdk else (None, None, None)
    return ProviderInfo(name, env_vars, module, package, extra, frozenset(operations), models)


CATALOG: dict[str, ProviderInfo] = {
    info.name: info
    for info in (
        _info(
            "mock",
            (),
            None,
            ("video", "image", "tts", "sts"),
            DEFAULT_MODELS["mock"],
        ),
        _info(
            "fal",
            ("FAL_KEY",),
            ("fal_client", "fal-client", "fal"),
            ("video", "image", "tts"),
            DEFAULT_MODELS["fal"],
        ),
        _info(
            "replicate",
            ("REPLICATE_API_TOKEN",),
            ("replicate", "replicate", "replicate"),
            ("video", "image"),
            DEFAULT_MODELS["replicate"],
        ),
        _info(
            "openai",
            ("OPENAI_API_KEY",),
            ("openai", "openai", "openai"),
            ("video", "image", "tts"),
            DEFAULT_MODELS["openai"],
        ),
        _info(
            "azure_openai",
            ("AZURE_OPENAI_API_KEY",),
            ("openai", "openai", "azure"),
            ("video", "image", "tts"),
            DEFAULT_MODELS["azure_openai"],
        ),
        _info(
            "google",
            ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
            ("google.genai", "google-genai", "google"),
            ("video", "image"),
            DEFAULT_MODELS["google"],
        ),
        _info(
            "runway",
            ("RUNWAYML_API_SECRET",),
            ("runwayml", "runwayml", "runway"),
            ("video", "image"),
            DEFAULT_MODELS["runway"],
        ),
        _info("stability", ("STABILITY_API_KEY",), None, ("image",), DEFAULT_MODELS["stability"]),
        _info(
            "xai",
            ("XAI_API_KEY",),
            ("xai_sdk", "xai-sdk", "xai"),
            ("video", "image"),
            DEFAULT_MODELS["xai"],
        ),
        _info(
            "elevenlabs",
            ("ELEVENLABS_API_KEY",),
            ("elevenlabs", "elevenlabs", "elevenlabs"),
            ("tts", "sts"),
            DEFAULT_MODELS["elevenlabs"],
        ),
        _info(
            "cartesia",
            ("CARTESIA_API_KEY",),
            ("cartesia", "cartesia", "cartesia"),
            ("tts", "sts"),
            DEFAULT_MODELS["cartesia"],
        ),
        _info(
            "hume", ("HUME_API_KEY",), ("hume", "hume", "hume"), ("tts",), DEFAULT_MODELS["hume"]
        ),
        _info(
            "sarvam",
            ("SARVAM_API_KEY",),
            ("sarvamai", "sarvamai", "sarvam"),
            ("tts",),
            DEFAULT_MODELS["sarvam"],
        ),
    )
}
"""Built-in providers: key variables, SDK, operations and well-known default models."""

AUTO_ORDER: dict[Operation, tuple[str, ...]] = {
    "video": ("fal", "google", "openai", "replicate", "runway", "xai", "azure_openai"),
    "image": ("fal", "openai", "google", "stability", "replicate", "xai", "runway", "azure_openai"),
    "tts": ("elevenlabs", "openai", "cartesia", "google", "hume", "sarvam", "azure_openai", "fal"),
    "sts": ("elevenlabs", "cartesia"),
}
"""The order in which providers whose key is set are listed when none is named (a key
alone never selects a provider: see :meth:`Selector.primary`)."""

KEY_PAIRS: dict[str, tuple[tuple[str, str], ...]] = {
    # fal_client reads FAL_KEY, else FAL_KEY_ID + FAL_KEY_SECRET joined by ":" (fal_client
    # auth.fetch_credentials, fal-client 1.x, checked 2026-12-04); the fal handler does too.
    "fal": (("FAL_KEY_ID", "FAL_KEY_SECRET"),),
}
"""Providers whose key may also come as two variables, both of which must be set."""


def register_env_secrets() -> None:
    """Register provider keys found in the environment with the redactor.

    The catalog's variables (``FAL_KEY`` …) and every variable whose name marks it as
    a secret (``*_API_KEY``, ``*_TOKEN``, ``*_SECRET`` …), so that no output — logs,
    error messages, JSON — can carry one, whichever variable a handler reads.
    """
    for info in CATALOG.values():
        for var in info.env_vars:
            register_secret(os.environ.get(var))
    for name, value in os.environ.items():
        if is_secret_key(name):
            register_secret(value)
    for pairs in KEY_PAIRS.values():
        for first, second in pairs:
            if os.environ.get(first) and os.environ.get(second):
                register_secret(os.environ[first])
                register_secret(os.environ[second])
                register_secret(f"{os.environ[first]}:{os.environ[second]}")


# ============================================================================ provider status


@dataclass
class ProviderStatus:
    """One provider as this installation sees it (handler, SDK, key)."""

    name: str
    available: bool
    problem: str | None
    operations: frozenset[str]
    env_vars: tuple[str, ...]
    requires_key: bool
    sdk_package: str | None
    sdk_installed: bool
    extra: str | None
    key_source: str | None
    default_models: dict[str, str]

    @property
    def has_key(self) -> bool:
        """A key was found (or none is needed)."""
        return self.key_source is not None or not self.requires_key

    def supports(self, operation: str) -> bool:
        """Whether the provider offers ``operation``."""
        return operation in self.operations


def _handler_class(name: str) -> tuple[type[Any] | None, str | None]:
    """The handler class of a built-in provider (imported without its SDK) or why not."""
    from tarash.tarash_gateway.registry import BUILTIN_PROVIDERS

    target = BUILTIN_PROVIDERS.get(name)
    if target is None:
        return None, "not a built-in provider"
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            return None, "not included in this installation"
        return None, f"needs the missing module {missing!r}"
    except Exception as exc:  # a broken handler module must not break the listing
        return None, f"failed to load: {type(exc).__name__}: {exc}"
    handler = getattr(module, attr, None)
    if not isinstance(handler, type):
        return None, f"{target} is not a class"
    return handler, None


def _sdk_installed(module: str | None) -> bool:
    if module is None:
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def provider_status(name: str, settings: CliSettings) -> ProviderStatus:
    """Describe provider ``name`` (a canonical name) for listings and selection."""
    info = CATALOG.get(name) or ProviderInfo(name, (), None, None, None, frozenset())
    handler, problem = _handler_class(name)
    operations: frozenset[str] = frozenset(info.operations)
    env_vars = info.env_vars
    requires_key = name != "mock"
    defaults: dict[str, str] = dict(info.default_models)
    if handler is not None:
        operations = frozenset(getattr(handler, "operations", operations))
        declared = tuple(getattr(handler, "api_key_env", ()) or ())
        env_vars = tuple(dict.fromkeys((*declared, *env_vars)))
        requires_key = bool(getattr(handler, "requires_api_key", requires_key))
        handler_defaults = getattr(handler, "default_models", None)
        if isinstance(handler_defaults, Mapping):
            defaults.update({str(k): str(v) for k, v in handler_defaults.items()})
    configured = settings.providers.get(name)
    if configured is not None:
        defaults.update({str(op): model for op, model in configured.models.items()})
    key_source = next((f"${var}" for var in env_vars if os.environ.get(var)), None)
    if key_source is None:
        key_source = next(
            (
                f"${first} + ${second}"
                for first, second in KEY_PAIRS.get(name, ())
                if os.environ.get(first) and os.environ.get(second)
            ),
            None,
        )
    if key_source is None and configured is not None and configured.api_key is not None:
        key_source = "config file"
    return ProviderStatus(
        name=name,
        available=handler is not None,
        problem=problem,
        operations=operations,
        env_vars=env_vars,
        requires_key=requires_key,
        sdk_package=info.sdk_package,
        sdk_installed=_sdk_installed(info.sdk_module),
        extra=info.extra,
        key_source=key_source,
        default_models=defaults,
    )


def canonical_provider(name: str, *, option: str = "--provider") -> str:
    """The registry name of ``name`` (aliases resolved); a usage error if unknown."""
    from tarash.tarash_gateway.registry import list_providers, resolve_provider_name

    known = list_providers()
    canonical = resolve_provider_name(name)
    if canonical in known:
        return canonical
    close = difflib.get_close_matches(name.lower(), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f"; known providers: {', '.join(known)}"
    raise CliError(f"{option}: unknown provider {name!r}{hint}", EXIT_USAGE)


# ============================================================================ config file


def default_config_path() -> Path:
    """``$XDG_CONFIG_HOME/tarash/config.toml`` (``~/.config/tarash/config.toml``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tarash" / "config.toml"


def default_jobs_db_path() -> Path:
    """``$XDG_DATA_HOME/tarash/jobs.db`` (``~/.local/share/tarash/jobs.db``).

    Per the XDG base directory spec an empty or relative ``XDG_DATA_HOME`` is ignored.
    """
    base = os.environ.get("XDG_DATA_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "tarash" / "jobs.db"


def load_settings(explicit: str | None, warn: Any = None) -> CliSettings:
    """Read the config file: ``--config``, else ``$TARASH_CONFIG``, else the default path.

    A missing default file is fine (empty settings); a missing explicit file,
    invalid TOML or an unknown key is a usage error naming the file.
    """
    # the schema (pydantic) is loaded here, when a command runs, not for ``tarash --help``
    from pydantic import ValidationError as PydanticValidationError

    from tarash.tarash_gateway.cli._config import CliSettings

    chosen = explicit or os.environ.get(CONFIG_ENV) or None
    path = Path(chosen).expanduser() if chosen else default_config_path()
    if not path.is_file():
        if chosen:
            raise CliError(f"config file not found: {path}", EXIT_USAGE)
        return CliSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read config file {path}: {exc}", EXIT_USAGE) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CliError(f"config file {path} is not valid TOML: {exc}", EXIT_USAGE) from exc
    providers = data.get("providers")
    if isinstance(providers, dict):
        from tarash.tarash_gateway.registry import resolve_provider_name

        data["providers"] = {resolve_provider_name(str(k)): v for k, v in providers.items()}
    try:
        settings = CliSettings.model_validate({**data, "path": path})
    except PydanticValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'file'}: "
            + ("unknown key" if err["type"] == "extra_forbidden" else err["msg"])
            for err in exc.errors()
        )
        raise CliError(f"config file {path}: {problems}", EXIT_USAGE) from None
    if warn is not None and any(p.api_key for p in settings.providers.values()):
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = 0
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warn(f"{path} holds API keys and other users can read it; run: chmod 600 {path}")
    return settings
