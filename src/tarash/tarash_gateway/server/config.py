"""Server settings: the ``[server]`` and ``[models.<alias>]`` tables of the CLI's TOML file.

Example::

    [server]
    host = "127.0.0.1"
    port = 8000
    db = "sqlite:////var/lib/tarash/server.db"    # or $TARASH_DB_URL / --db
    results_dir = "/var/lib/tarash/results"
    public_providers = ["mock", "fal"]            # "provider/model" names allowed directly

    [models.fast-video]
    provider = "fal"
    model = "fal-ai/veo3.1/fast"
    operation = "video"
    provider_config = {}
    fallbacks = ["mock/mock-video"]
    defaults = { duration_seconds = 4 }

Without a file the server serves the mock provider's models (``mock/mock-video`` …)
and keeps its jobs in SQLite in the user's data directory. Provider keys come from the
environment as in the library (``FAL_KEY`` …); a ``[providers.<name>]`` table of the same
file can set ``api_key`` / ``base_url`` as for the CLI.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tarash.tarash_gateway._secrets import register_secret
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    BaseGenerationConfig,
    ImageGenerationConfig,
    RetryPolicy,
    VideoGenerationConfig,
)

__all__ = [
    "DB_URL_ENV",
    "MASTER_KEY_ENV",
    "ModelAlias",
    "ServerConfigError",
    "ServerSettings",
    "default_data_dir",
    "load_server_settings",
]

Operation = Literal["video", "image", "tts", "sts"]
DB_URL_ENV = "TARASH_DB_URL"
MASTER_KEY_ENV = "TARASH_MASTER_KEY"

_CONFIG_TYPES: dict[str, type[BaseGenerationConfig]] = {
    "video": VideoGenerationConfig,
    "image": ImageGenerationConfig,
    "tts": AudioGenerationConfig,
    "sts": AudioGenerationConfig,
}

# The mock provider's models (src/tarash/tarash_gateway/providers/mock): the embedded
# default, so a fresh `tarash serve` answers every route offline.
_MOCK_MODELS: dict[str, Operation] = {
    "mock-video": "video",
    "mock-image": "image",
    "mock-tts": "tts",
    "mock-sts": "sts",
}


class ServerConfigError(ValueError):
    """The server's config is unusable (named file, key and reason)."""


class ModelAlias(BaseModel):
    """``[models.<alias>]``: one public model name and what it runs on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str
    model: str
    operation: Operation | None = None
    provider_config: dict[str, Any] = Field(default_factory=dict)
    fallbacks: list[str] = Field(default_factory=list)
    defaults: dict[str, Any] = Field(default_factory=dict)
    base_url: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    poll_interval: float | None = Field(default=None, gt=0)
    retry: dict[str, Any] | None = None
    """The library's ``RetryPolicy`` fields (``max_retries``, ``initial_delay`` …)."""
    video_modes: list[Literal["edit", "extend"]] | None = None
    """Which of ``POST /v1/videos/edits`` / ``/v1/videos/extensions`` this model serves: the
    source goes to it as the request's input ``video`` (extensions: ``duration_seconds`` =
    the new segment) and the model decides what to do with it (the mock reads
    ``provider_options.mock.video_mode``).
    Default: both for the mock, none otherwise (a model must be declared to take them)."""

    def serves_video_mode(self, mode: str) -> bool:
        if self.video_modes is not None:
            return mode in self.video_modes
        return self.provider == "mock" and self.model == "mock-video"


class ProviderTable(BaseModel):
    """``[providers.<name>]`` (shared with the CLI): credentials and endpoint."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    api_key: SecretStr | None = None
    base_url: str | None = None

    @field_validator("api_key", mode="after")
    @classmethod
    def _register(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())  # redacted from every log line
        return value


class ServerSettings(BaseModel):
    """Everything the server needs to start."""

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    db: str | None = None
    results_dir: str | None = None
    public_providers: list[str] = Field(default_factory=lambda: ["mock"])
    workers: int = Field(default=16, ge=1, le=1024)
    """Job steps run at once by this process."""
    lease_seconds: float = Field(default=60, gt=0)
    poll_min: float = Field(default=0.2, gt=0)
    poll_max: float = Field(default=30, gt=0)
    webhook_max_attempts: int = Field(default=8, ge=1, le=50)
    webhook_backoff: float = Field(default=1.0, gt=0)
    allow_private_urls: bool = False
    """Accept media and webhook URLs on private addresses (trusted networks and tests only)."""
    idle_wakeup: float = Field(default=0.25, gt=0, description="Backstop poll of the jobs table.")
    public_url: str | None = Field(default=None, pattern=r"^https?://")
    """Where providers can reach this gateway; set → fal/Replicate are asked for webhooks."""
    fal_jwks_url: str = "https://rest.alpha.fal.ai/.well-known/jwks.json"
    """fal's webhook signing keys (docs.fal.ai/model-apis/model-endpoints/webhooks, 2026-12-04)."""
    replicate_webhook_secret: SecretStr | None = None
    """``whsec_…`` from Replicate's ``GET /v1/webhooks/default/secret``."""
    storage: str | None = Field(
        default=None, pattern=r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/.*)?$"
    )
    """``s3://bucket/prefix``: result bytes in S3-compatible storage (``tarash-gateway[s3]``)
    instead of ``results_dir``."""
    storage_endpoint_url: str | None = Field(default=None, pattern=r"^https?://")
    """An S3-compatible endpoint (MinIO, R2, Ceph…); default AWS."""
    storage_region: str | None = None
    storage_access_key_id: SecretStr | None = None
    storage_secret_access_key: SecretStr | None = None
    """Both or neither; neither → boto3's own credential chain (environment, profile, role)."""
    storage_content: Literal["stream", "redirect"] = "stream"
    """``/content`` from S3: streamed through the server, or a 302 to a presigned URL."""
    storage_url_ttl: int = Field(default=3600, ge=1, le=604800)
    """Lifetime of a presigned URL in seconds (S3 allows at most 7 days)."""
    models: dict[str, ModelAlias] = Field(default_factory=dict)
    providers: dict[str, ProviderTable] = Field(default_factory=dict)

    @field_validator("storage_access_key_id", "storage_secret_access_key", mode="after")
    @classmethod
    def _register_storage_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())  # redacted from every log line
        return value

    @model_validator(mode="after")
    def _storage_keys_paired(self) -> ServerSettings:
        if (self.storage_access_key_id is None) != (self.storage_secret_access_key is None):
            raise ValueError(
                "storage_access_key_id and storage_secret_access_key go together (or neither)"
            )
        return self

    def db_url(self) -> str:
        """``--db`` / ``[server] db``, else ``$TARASH_DB_URL``, else SQLite in the data dir."""
        url = self.db or os.environ.get(DB_URL_ENV)
        if url:
            return url
        return f"sqlite:///{default_data_dir() / 'server.db'}"

    def results_path(self) -> Path:
        """Where results given as bytes are kept."""
        if self.results_dir:
            return Path(self.results_dir).expanduser()
        url = self.db_url()
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            return Path(url.removeprefix("sqlite:///")).parent / "results"
        return default_data_dir() / "results"

    def model_names(self) -> list[tuple[str, ModelAlias]]:
        """Every public name: the aliases, then the mock's ``provider/model`` ids."""
        names = list(self.models.items())
        if "mock" in self.public_providers:
            for model, op in _MOCK_MODELS.items():
                names.append(
                    (f"mock/{model}", ModelAlias(provider="mock", model=model, operation=op))
                )
        return names

    def resolve(self, name: str) -> ModelAlias | None:
        """An alias, else a ``provider/model`` string of an allowed provider."""
        if name in self.models:
            return self.models[name]
        provider, sep, model = name.partition("/")
        if not sep or not model or provider not in self.public_providers:
            return None
        if provider == "mock" and model not in _MOCK_MODELS:
            return None
        op = _MOCK_MODELS.get(model) if provider == "mock" else None
        return ModelAlias(provider=provider, model=model, operation=op)

    def build_configs(self, name: str, operation: str) -> list[BaseGenerationConfig]:
        """The config chain of ``name`` for ``operation``: the alias, then its fallbacks."""
        seen: set[str] = set()
        chain: list[BaseGenerationConfig] = []
        pending = [name]
        while pending and len(chain) < 8:
            current = pending.pop(0)
            if current in seen:
                continue
            seen.add(current)
            alias = self.resolve(current)
            if alias is None:
                raise ServerConfigError(f"unknown model {current!r}")
            chain.append(self._config(alias, operation))
            pending.extend(alias.fallbacks)
        return chain

    def _config(self, alias: ModelAlias, operation: str) -> BaseGenerationConfig:
        table = self.providers.get(alias.provider) or ProviderTable()
        fields: dict[str, Any] = {
            "provider": alias.provider,
            "model": alias.model,
            "provider_config": dict(alias.provider_config),
        }
        if table.api_key is not None:
            fields["api_key"] = table.api_key
        base_url = alias.base_url or table.base_url
        if base_url:
            fields["base_url"] = base_url
        if alias.timeout:
            fields["timeout"] = alias.timeout
        if alias.poll_interval:
            fields["poll_interval"] = alias.poll_interval
        if alias.retry is not None:
            fields["retry"] = RetryPolicy(**alias.retry)
        return _CONFIG_TYPES[operation](**fields)


def _default_config_path() -> Path:
    """The CLI's ``$XDG_CONFIG_HOME/tarash/config.toml`` (``~/.config/tarash/config.toml``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "tarash" / "config.toml"


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/tarash`` (``~/.local/share/tarash``)."""
    base = os.environ.get("XDG_DATA_HOME") or ""
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "tarash"


def load_server_settings(path: str | None, **overrides: Any) -> ServerSettings:
    """Read ``[server]``, ``[models]`` and ``[providers]`` from ``path``, else
    ``$TARASH_CONFIG``, else the CLI's default file when it exists; command-line
    ``overrides`` that are not ``None`` win."""
    chosen = path or os.environ.get("TARASH_CONFIG")
    if not chosen:
        default = _default_config_path()
        chosen = str(default) if default.is_file() else None
    data: dict[str, Any] = {}
    if chosen:
        file = Path(chosen).expanduser()
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ServerConfigError(f"cannot read config file {file}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ServerConfigError(f"config file {file} is not valid TOML: {exc}") from exc
        server = raw.get("server") or {}
        if not isinstance(server, dict):
            raise ServerConfigError(f"{file}: [server] must be a table")
        data.update(server)
        data["models"] = raw.get("models") or {}
        data["providers"] = raw.get("providers") or {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServerSettings.model_validate(data)
    except ValueError as exc:
        raise ServerConfigError(f"server config: {exc}") from None
