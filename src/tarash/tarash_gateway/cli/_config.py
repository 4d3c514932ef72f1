"""The ``tarash`` config file's schema (``~/.config/tarash/config.toml``).

Loaded by :func:`tarash.tarash_gateway.cli._settings.load_settings` when a command runs;
``tarash --help`` does not import pydantic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tarash.tarash_gateway._secrets import register_secret
from tarash.tarash_gateway.cli._settings import MOCK_FAILURES, Operation

__all__ = ["CliSettings", "MockSettings", "OperationDefaults", "ProviderSettings"]


class ProviderSettings(BaseModel):
    """``[providers.<name>]``: credentials and endpoint of one provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key: SecretStr | None = None
    base_url: str | None = None
    api_version: str | None = None
    provider_config: dict[str, Any] = Field(default_factory=dict)
    models: dict[Operation, str] = Field(default_factory=dict)

    @field_validator("api_key", mode="after")
    @classmethod
    def _register(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            register_secret(value.get_secret_value())
        return value


class OperationDefaults(BaseModel):
    """``[defaults.<operation>]``: what to run when the command line does not say."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str | None = None
    model: str | None = None
    fallback: list[str] = Field(default_factory=list)
    voice: str | None = None
    timeout: float | None = Field(default=None, gt=0)
    poll_interval: float | None = Field(default=None, gt=0)
    retries: int | None = Field(default=None, ge=0, le=10)


class MockSettings(BaseModel):
    """``[mock]``: how the offline mock behaves (handy to rehearse failures in scripts)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fail: list[str] = Field(default_factory=list)
    delay: float | None = Field(default=None, ge=0, le=60)
    seed: int | None = None

    @field_validator("fail")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        for kind in value:
            if kind not in MOCK_FAILURES:
                raise ValueError(f"{kind!r} is not one of {', '.join(MOCK_FAILURES)}")
        return value


class CliSettings(BaseModel):
    """The whole config file (every table is optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: str | None = None
    jobs_db: str | None = None
    defaults: dict[Operation, OperationDefaults] = Field(default_factory=dict)
    providers: dict[str, ProviderSettings] = Field(default_factory=dict)
    mock: MockSettings = Field(default_factory=MockSettings)
    server: dict[str, Any] = Field(default_factory=dict)
    """``[server]``: read by ``tarash serve`` (tarash_gateway.server.config)."""
    models: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """``[models.<alias>]``: the server's model aliases."""

    path: Path | None = Field(default=None, exclude=True)
    """Where these settings were read from (``None``: no config file)."""

    def for_operation(self, operation: Operation) -> OperationDefaults:
        """The ``[defaults.<operation>]`` table (empty if absent)."""
        return self.defaults.get(operation) or OperationDefaults()

    def provider_settings(self, name: str) -> ProviderSettings:
        """The ``[providers.<name>]`` table (empty if absent)."""
        return self.providers.get(name) or ProviderSettings()
