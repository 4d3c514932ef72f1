"""Which Google API a config talks to: the Gemini API or Vertex AI (no SDK import).

Policy (see ``docs/providers/google.md``):

* ``provider_config={"vertexai": True, ...}`` (alias ``"enterprise"``) selects
  **Vertex AI** for every model: with an API key that is Vertex *express mode*;
  with ``project`` (+ ``location``) or ``credentials`` it is a project endpoint
  authenticated by Application Default Credentials or the given credentials.
* ``provider_config={"vertexai": False}`` selects the **Gemini API** for every model.
* ``provider="vertex"`` / ``"vertexai"`` and ``provider="gemini"`` (registry aliases of
  ``google``) mean the same as ``vertexai=True`` / ``False``.
* Neither: Vertex when ``project``/``location``/``credentials`` are given or
  ``GOOGLE_GENAI_USE_VERTEXAI`` / ``GOOGLE_GENAI_USE_ENTERPRISE`` is true (the
  SDK's own switches), else the **Gemini API**. An API key belongs to one of the
  two services, so a config's mode never depends on the model.

google-genai 3.x serves Veo and Imagen only in Vertex mode; in Gemini API mode
the handler submits those two through the SDK's own authenticated transport
(see ``handler.py``), so both modes keep working.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from tarash.tarash_gateway.exceptions import ValidationError
from tarash.tarash_gateway.models import BaseGenerationConfig

__all__ = ["PROVIDER_CONFIG_KEYS", "ApiMode", "env_flag", "resolve_mode"]

PROVIDER_CONFIG_KEYS = frozenset({"vertexai", "enterprise", "project", "location", "credentials"})
"""Keys ``provider_config`` may hold for the google provider."""

_PROVIDER = "google"
_ALIAS_MODES = {"vertex": True, "vertexai": True, "gemini": False}
"""Registry aliases of the google provider that name an API."""


def env_flag(name: str) -> bool | None:
    """A boolean environment switch (``true``/``1`` → True; unset → None)."""
    value = os.environ.get(name)
    if value is None:
        return None
    return value.strip().lower() in ("true", "1", "yes", "on")


@dataclass(frozen=True)
class ApiMode:
    """The resolved API of one config.

    Attributes:
        name: ``"gemini"`` (Gemini Developer API) or ``"vertex"`` (Vertex AI / Agent Platform).
        project: Vertex project (``None`` = express mode with an API key, or the SDK's env).
        location: Vertex location.
    """

    name: Literal["gemini", "vertex"]
    project: str | None = None
    location: str | None = None

    @property
    def vertex(self) -> bool:
        """Whether this is Vertex AI."""
        return self.name == "vertex"

    @property
    def label(self) -> str:
        """Human-readable name for messages."""
        if not self.vertex:
            return "the Gemini API"
        if self.project:
            return f"Vertex AI (project {self.project}, location {self.location})"
        return "Vertex AI express mode"

    def to_data(self) -> dict[str, Any]:
        """Serialisable form for a :class:`~tarash.tarash_gateway.jobs.JobRef` (no secrets)."""
        return {"mode": self.name, "project": self.project, "location": self.location}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ApiMode | None:
        """Rebuild from :meth:`to_data` output (``None`` when absent)."""
        name = data.get("mode")
        if name not in ("gemini", "vertex"):
            return None
        return cls(name, data.get("project"), data.get("location"))


def _error(message: str, config: BaseGenerationConfig) -> ValidationError:
    return ValidationError(message, _PROVIDER, config.model, field="provider_config")


def resolve_mode(config: BaseGenerationConfig, *, has_api_key: bool) -> ApiMode:
    """The API mode of ``config`` (pure; reads only the SDK's environment switches).

    Raises:
        ValidationError: unknown or contradictory ``provider_config`` entries.
    """
    pc = config.provider_config
    unknown = sorted(set(pc) - PROVIDER_CONFIG_KEYS)
    if unknown:
        raise _error(
            f"unknown provider_config key(s) for google: {', '.join(unknown)} "
            f"(known: {', '.join(sorted(PROVIDER_CONFIG_KEYS))})",
            config,
        )
    flags = [pc[k] for k in ("vertexai", "enterprise") if k in pc and pc[k] is not None]
    if any(not isinstance(f, bool) for f in flags):
        raise _error("provider_config['vertexai'] must be true or false", config)
    if len(set(flags)) > 1:
        raise _error("provider_config 'vertexai' and 'enterprise' disagree", config)
    explicit: bool | None = flags[0] if flags else None
    alias = _ALIAS_MODES.get(config.provider.strip().lower())
    if alias is not None:
        if explicit is not None and explicit != alias:
            raise _error(
                f"provider {config.provider!r} and provider_config['vertexai']={explicit} disagree",
                config,
            )
        explicit = alias
    project = pc.get("project")
    location = pc.get("location")
    for key, value in (("project", project), ("location", location)):
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _error(f"provider_config['{key}'] must be a non-empty string", config)
    credentials = pc.get("credentials")
    if explicit is False and (project or location or credentials is not None):
        raise _error(
            "project/location/credentials are Vertex AI settings; they cannot be combined "
            "with the Gemini API (provider 'gemini' or provider_config['vertexai']=False)",
            config,
        )
    if credentials is not None and config.api_key is not None:
        raise _error(
            "pass either api_key or provider_config['credentials'], not both "
            "(google-genai rejects the combination)",
            config,
        )
    if explicit is None:
        env = env_flag("GOOGLE_GENAI_USE_ENTERPRISE")
        if env is None:
            env = env_flag("GOOGLE_GENAI_USE_VERTEXAI")
        vertex = bool(project or location or credentials is not None or env)
    else:
        vertex = explicit
    if not vertex:
        return ApiMode("gemini")
    # Same precedence as google-genai: explicit settings first, then the environment,
    # where an implicit project/location wins over an implicit API key.
    env_project = os.environ.get("GOOGLE_CLOUD_PROJECT") or None
    env_location = os.environ.get("GOOGLE_CLOUD_LOCATION") or None
    if project or location or credentials is not None:
        project_mode = True
    elif config.api_key is not None:
        project_mode = False
    elif env_project or env_location:
        project_mode = True
    else:
        project_mode = not has_api_key
    if not project_mode:
        return ApiMode("vertex")  # express mode: the API key alone
    return ApiMode("vertex", project or env_project, location or env_location or "global")
