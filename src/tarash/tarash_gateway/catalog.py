"""The model catalog: which models each provider serves, where that fact comes from, and
each model's lifecycle.

Every entry is plain data — provider, model id, operations, lifecycle
(``active`` | ``deprecated`` | ``retired``), the primary ``source`` it was checked
against (an installed SDK type, a published schema or an API reference page) and the
``checked`` date, plus the constraints that source publishes (durations, sizes,
formats, languages, text limits) and, where the schema is known, the provider-only
parameter names the model takes.

Facts live next to each provider (``providers/<name>/catalog.py``, pure data, no SDK
import) and are loaded the first time a provider is looked up; importing this module
builds nothing.

The planning hook :func:`check_model` runs in ``BaseProviderHandler.prepare`` before
any network call:

* a retired model raises :class:`~tarash.tarash_gateway.exceptions.ModelRetiredError`
  naming the retirement date and the replacement;
* a deprecated model adds a warning (with the announced shutdown date when known);
* a model that is not in the catalog adds a warning that it was not validated, with
  the closest known id (``difflib``); ``config.strict_models=True`` makes that an error;
* ``extra_params`` / ``provider_options`` keys that the model's known schema lacks are
  reported under ``config.on_unsupported_param``, with a did-you-mean.

Lifecycle dates are compared with today's date, so a model whose announced shutdown
date passes becomes retired without an edit.
"""

from __future__ import annotations

import datetime as _dt
import importlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from tarash.tarash_gateway.models import BaseGenerationConfig, BaseGenerationRequest

__all__ = [
    "Lifecycle",
    "ModelEntry",
    "catalog_providers",
    "check_extra_params",
    "check_lifecycle",
    "check_model",
    "closest",
    "entries",
    "lookup",
    "status_of",
]

Lifecycle = Literal["active", "deprecated", "retired"]
LIFECYCLES: tuple[Lifecycle, ...] = ("active", "deprecated", "retired")


@dataclass(frozen=True)
class ModelEntry:
    """One model of one provider, with provenance and lifecycle.

    Attributes:
        provider: Registry name of the provider (``"openai"``).
        model: The model id the provider's API takes.
        operations: Operations it serves (``"video"``, ``"image"``, ``"tts"``, ``"sts"``).
        source: Primary source the entry was checked against (SDK type or URL).
        checked: ISO date the entry was last checked against ``source``.
        lifecycle: ``active``, ``deprecated`` (``since``/``shutdown``, ``replacement``)
            or ``retired`` (``shutdown`` = the retirement date, ``replacement``).
        since: ISO date the deprecation was announced.
        shutdown: ISO date the provider stops (or stopped) serving the model; once it
            has passed the model counts as retired.
        replacement: The model the provider recommends instead.
        api: Which API surface this entry is about when a provider has several
            (Google: ``"gemini"`` = Gemini API, ``"vertex"`` = Vertex AI); ``None``: all.
        constraints: Published limits (``durations``, ``sizes``, ``formats``,
            ``languages``, ``max_text_chars`` …), as the source gives them.
        params: Provider-only parameter names (``extra_params`` keys) the model's schema
            has; ``None`` when the schema is not known (keys are then not checked).
        notice: The provider's own words, when it published a notice.
    """

    provider: str
    model: str
    operations: frozenset[str]
    source: str
    checked: str
    lifecycle: Lifecycle = "active"
    since: str | None = None
    shutdown: str | None = None
    replacement: str | None = None
    api: str | None = None
    constraints: Mapping[str, Any] = field(default_factory=dict)
    params: frozenset[str] | None = None
    notice: str | None = None

    def status(self, today: _dt.date | None = None) -> Lifecycle:
        """The lifecycle on ``today``: a deprecated model past its shutdown is retired."""
        if self.shutdown is not None:
            day = today or current_date()
            if _dt.date.fromisoformat(self.shutdown) <= day:
                return "retired"
            return "deprecated"  # announced, not yet past
        return self.lifecycle

    def to_data(self, today: _dt.date | None = None) -> dict[str, Any]:
        """JSON-ready view (``tarash models --json``)."""
        return {
            "model": self.model,
            "operations": sorted(self.operations),
            "lifecycle": self.status(today),
            "since": self.since,
            "shutdown": self.shutdown,
            "replacement": self.replacement,
            "api": self.api,
            "source": self.source,
            "checked": self.checked,
            "constraints": {k: _jsonable(v) for k, v in self.constraints.items()},
            "params": sorted(self.params) if self.params is not None else None,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(value, key=str)
    if isinstance(value, tuple):
        return list(value)
    return value


def entry(
    provider: str,
    model: str,
    operations: str | Iterable[str],
    source: str,
    checked: str,
    **fields: Any,
) -> ModelEntry:
    """Shorthand the provider catalog modules use to build entries."""
    ops = frozenset({operations} if isinstance(operations, str) else operations)
    params = fields.pop("params", None)
    return ModelEntry(
        provider,
        model,
        ops,
        source,
        checked,
        params=frozenset(params) if params is not None else None,
        **fields,
    )


def current_date() -> _dt.date:
    """Today (UTC); lifecycles are judged against it. Tests pin it with monkeypatch."""
    return _dt.datetime.now(_dt.UTC).date()


# ============================================================================ loading

_P = "tarash.tarash_gateway.providers"
_MODULES: dict[str, str] = {
    "mock": f"{_P}.mock.catalog",
    "openai": f"{_P}.openai.catalog",
    "azure_openai": f"{_P}.azure_openai.catalog",
    "google": f"{_P}.google.catalog",
    "runway": f"{_P}.runway.catalog",
    "stability": f"{_P}.stability.catalog",
    "xai": f"{_P}.xai.catalog",
    "elevenlabs": f"{_P}.elevenlabs.catalog",
    "cartesia": f"{_P}.cartesia.catalog",
    "hume": f"{_P}.hume.catalog",
    "sarvam": f"{_P}.sarvam.catalog",
}
"""Provider → module with an ``ENTRIES`` tuple (pure data, imported on first lookup)."""

_REGISTRY_BACKED: dict[str, str] = {
    "fal": "fal per-endpoint OpenAPI schemas (snapshot under tests/providers/fal)",
    "replicate": "Replicate per-version OpenAPI schemas (snapshot under tests/providers/replicate)",
}
"""Providers whose catalog is their field-mapping registry (checked against schema snapshots)."""

CLOSED_PROVIDERS = frozenset({"mock"})
"""Providers whose catalog is a closed set: an unknown model is always an error."""

_lock = threading.Lock()
_LOADED: dict[str, tuple[ModelEntry, ...]] = {}


def catalog_providers() -> list[str]:
    """Providers with a catalog."""
    return sorted(set(_MODULES) | set(_REGISTRY_BACKED))


def _registry_entries(provider: str) -> tuple[ModelEntry, ...]:
    from tarash.tarash_gateway.registry import get_provider_field_mapping

    registry = get_provider_field_mapping(provider) or {}
    checked = _REGISTRY_CHECKED.get(provider, "2026-12-04")
    found = [
        entry(provider, key, _guess_operation(key, mappers), _REGISTRY_BACKED[provider], checked)
        for key, mappers in sorted(registry.items())
    ]
    if provider == "fal":  # speech endpoints are validated by providers/fal/tts.py
        from tarash.tarash_gateway.providers.fal.tts import TTS_MODELS

        found += [
            entry(provider, key, "tts", _REGISTRY_BACKED[provider], checked)
            for key in sorted(TTS_MODELS)
            if key not in registry
        ]
    return tuple(found)


def _guess_operation(key: str, mappers: Mapping[str, Any]) -> str:
    """The operation of a registry entry, from the fields its mappers fill."""
    fields = set(mappers)
    if fields & {"duration", "seconds", "num_frames", "frames", "fps"} or "video" in key:
        return "video"
    if fields & {"voice", "voice_id", "text"} and "prompt" not in fields:
        return "tts"
    if any(part in key for part in ("speech", "tts")):
        return "tts"
    return "image"


_REGISTRY_CHECKED = {"fal": "2026-12-04", "replicate": "2026-12-04"}


def entries(provider: str) -> tuple[ModelEntry, ...]:
    """Every catalog entry of ``provider`` (empty for providers without a catalog)."""
    name = _canonical(provider)
    with _lock:
        cached = _LOADED.get(name)
    if cached is not None:
        return cached
    if name in _MODULES:
        loaded: tuple[ModelEntry, ...] = tuple(importlib.import_module(_MODULES[name]).ENTRIES)
    elif name in _REGISTRY_BACKED:
        loaded = _registry_entries(name)
    else:
        loaded = ()
    with _lock:
        _LOADED[name] = loaded
    return loaded


def _canonical(provider: str) -> str:
    from tarash.tarash_gateway.registry import resolve_provider_name

    return resolve_provider_name(provider)


def _normalise(provider: str, model: str) -> str:
    name = model.strip()
    if provider == "google":
        for prefix in ("publishers/google/models/", "models/"):
            if name.startswith(prefix):
                name = name[len(prefix) :]
    return name


def lookup(provider: str, model: str, api: str | None = None) -> ModelEntry | None:
    """The entry of ``model`` (for ``api`` when the provider has several), else ``None``."""
    name = _canonical(provider)
    wanted = _normalise(name, model)
    general: ModelEntry | None = None
    for item in entries(name):
        if item.model != wanted:
            continue
        if item.api is None:
            general = item
        elif api is not None and item.api == api:
            return item
    if general is None and (name in CLOSED_PROVIDERS or name in _REGISTRY_BACKED):
        # Registry semantics: ``mock-video-fast`` is a variant of ``mock-video``.
        from tarash.tarash_gateway.providers.field_mappers import match_model_key

        key = match_model_key(wanted, [i.model for i in entries(name)])
        if key is not None:
            return lookup(name, key, api)
    return general


def known_on_other_api(provider: str, model: str, api: str) -> list[str]:
    """API surfaces other than ``api`` on which ``model`` is catalogued."""
    wanted = _normalise(_canonical(provider), model)
    return sorted(
        {i.api for i in entries(provider) if i.model == wanted and i.api and i.api != api}
    )


def closest(provider: str, model: str, operation: str | None = None) -> str | None:
    """The known model id closest to ``model`` (``difflib``), preferring live ones."""
    import difflib

    pool = [
        i.model
        for i in entries(provider)
        if (operation is None or operation in i.operations) and i.status() != "retired"
    ]
    if not pool:
        pool = [i.model for i in entries(provider)]
    match = difflib.get_close_matches(model.strip(), sorted(set(pool)), n=1, cutoff=0.5)
    return match[0] if match else None


def status_of(provider: str, model: str, api: str | None = None) -> Lifecycle | None:
    """The lifecycle of a model today (``None`` when it is not in the catalog)."""
    item = lookup(provider, model, api)
    return item.status() if item else None


# ============================================================================ checks


def _retired_error(item: ModelEntry, operation: str) -> Exception:
    from tarash.tarash_gateway.exceptions import ModelRetiredError

    when = item.shutdown or "an earlier date"
    where = f" on the {_API_LABELS.get(item.api, item.api)}" if item.api else ""
    instead = f"; use {item.replacement!r} instead" if item.replacement else ""
    return ModelRetiredError(
        f"model {item.model!r} was retired by {item.provider}{where} on {when}{instead} "
        f"(source: {item.source}, checked {item.checked})",
        item.provider,
        item.model,
        field="model",
        retired_on=item.shutdown,
        replacement=item.replacement,
    )


_API_LABELS = {"gemini": "Gemini API", "vertex": "Vertex AI"}


def check_lifecycle(
    provider: str,
    model: str,
    operation: str,
    *,
    api: str | None = None,
    today: _dt.date | None = None,
) -> list[str]:
    """Warnings for a deprecated model; raises ``ModelRetiredError`` for a retired one.

    A model outside the catalog yields no warning here (see :func:`check_model`).
    """
    item = lookup(provider, model, api)
    if item is None:
        return []
    state = item.status(today)
    if state == "retired":
        raise _retired_error(item, operation)
    if state == "deprecated":
        when = f"; {item.provider} shuts it down on {item.shutdown}" if item.shutdown else ""
        instead = f"; move to {item.replacement!r}" if item.replacement else ""
        return [f"model {item.model!r} is deprecated{when}{instead}"]
    return []


def _api_of(provider: str, config: BaseGenerationConfig) -> str | None:
    if provider != "google":
        return None
    from tarash.tarash_gateway.providers.google.modes import resolve_mode

    try:
        mode = resolve_mode(config, has_api_key=config.api_key is not None or _google_env_key())
    except Exception:  # the handler reports bad provider_config itself
        return None
    return mode.name


def _google_env_key() -> bool:
    import os

    return bool(os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY"))


def unknown_model_message(provider: str, model: str, operation: str) -> str:
    """``model 'x' is not in the catalog of 'p' … (did you mean 'y'?)``."""
    guess = closest(provider, model, operation)
    hint = f"; did you mean {guess!r}?" if guess and guess != model else ""
    return (
        f"model {model!r} is not in the gateway's catalog of {provider!r} {operation} models, "
        f"so its parameters were not validated{hint}"
    )


def check_model(
    provider: str,
    operation: str,
    config: BaseGenerationConfig,
    request: BaseGenerationRequest | None = None,
) -> list[str]:
    """The planning check of one config (no I/O): lifecycle, unknown model, extra params.

    Returns warnings for the prepared request. Raises ``ModelRetiredError`` for a
    retired model and ``ValidationError`` for an unknown model of a closed catalog
    (the mock) or under ``config.strict_models``, and for ``extra_params`` keys the
    model's known schema lacks when ``on_unsupported_param="error"``.
    """
    from tarash.tarash_gateway.exceptions import ValidationError

    name = _canonical(provider)
    if name not in _MODULES and name not in _REGISTRY_BACKED:
        return []  # a user-registered provider: nothing known about its models
    if name == "azure_openai":
        return []  # deployment names, resolved to models by the handler itself
    api = _api_of(name, config)
    model = config.model
    from tarash.tarash_gateway.exceptions import ModelRetiredError

    try:
        warnings = check_lifecycle(name, model, operation, api=api)
    except ModelRetiredError as exc:
        if not config.base_url:
            raise
        # Another endpoint serving the same API (proxy, compatible gateway) may still
        # serve a model the provider itself retired: send it, say so.
        warnings = [f"{exc}; sent anyway because base_url points at {config.base_url!r}"]
    item = lookup(name, model, api)
    if item is None:
        other = known_on_other_api(name, model, api) if api else []
        if other:
            labels = " / ".join(_API_LABELS.get(a, a) for a in other)
            raise ValidationError(
                f"model {model!r} is served by the {labels}, not by the "
                f"{_API_LABELS.get(api or '', api)} this config talks to",
                name,
                model,
                field="model",
            )
        message = unknown_model_message(name, model, operation)
        strict = name in CLOSED_PROVIDERS or bool(getattr(config, "strict_models", False))
        if strict:
            why = (
                "the mock's models are a closed set"
                if name in CLOSED_PROVIDERS
                else "strict_models is on"
            )
            raise ValidationError(f"{message} ({why})", name, model, field="model")
        if name not in _REGISTRY_BACKED:
            warnings.append(message)
        return warnings
    if name not in _REGISTRY_BACKED and operation not in item.operations:
        serves = ", ".join(sorted(item.operations))
        raise ValidationError(
            f"model {model!r} of {name!r} does not do {operation} generation (it serves {serves})",
            name,
            model,
            field="model",
        )
    if request is not None and item.params is not None:
        check_extra_params(item, config, request, warnings)
    return warnings


def check_extra_params(
    item: ModelEntry,
    config: BaseGenerationConfig,
    request: BaseGenerationRequest,
    warnings: list[str],
) -> None:
    """Report ``extra_params`` / ``provider_options[provider]`` keys the schema lacks."""
    import difflib

    from tarash.tarash_gateway.exceptions import ValidationError

    known = item.params or frozenset()
    given = list(request.extra_params) + list(request.provider_options.get(item.provider, {}))
    unknown = [k for k in dict.fromkeys(given) if k not in known and _camel(k) not in known]
    if not unknown or config.on_unsupported_param == "ignore":
        return
    problems = []
    for key in unknown:
        guess = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
        problems.append(f"{key!r}" + (f" (did you mean {guess[0]!r}?)" if guess else ""))
    message = (
        f"model {item.model!r} on {item.provider!r} has no parameter "
        + ", ".join(problems)
        + f" (known: {', '.join(sorted(known)) or 'none'})"
    )
    if config.on_unsupported_param == "error":
        raise ValidationError(
            message + "; set on_unsupported_param='warn' or 'ignore' to send it anyway",
            item.provider,
            item.model,
            field=f"extra_params.{unknown[0]}",
            errors=[
                {"field": f"extra_params.{k}", "message": "not a parameter of this model"}
                for k in unknown
            ],
        )
    warnings.append(message)


def _camel(name: str) -> str:
    """``outputGcsUri`` → ``output_gcs_uri`` (schemas list snake_case names)."""
    out = []
    for ch in name:
        if ch.isupper():
            out.append("_" + ch.lower())
        else:
            out.append(ch)
    return "".join(out)


# ============================================================================ provider answers

_UNAVAILABLE_CODES = frozenset(
    {
        "model_not_found",  # OpenAI (https://platform.openai.com/docs/deprecations examples)
        "model_sunsetted",  # Cartesia (tts-models/api-changes)
        "model_not_available",
        "model_deprecated",
        "model_retired",
        "unknown_model",
    }
)
_UNAVAILABLE_TEXT = (
    r"\bmodels?\b[^.]{0,120}?\b("
    r"not found|does not exist|doesn't exist|is not available|not available|unavailable|"
    r"sunset|sunsetted|retired|deprecated|shut down|no longer (?:available|supported|served)|"
    r"is not supported|not supported (?:in|for) (?:this|your) (?:region|location|api)"
    r")"
    r"|(?:not available|unavailable|not supported) in (?:this|your) (?:region|location|country)"
)


def as_model_unavailable(error: Any) -> Any:
    """A provider's "model not found / sunset / not in this region or API" answer as a
    :class:`~tarash.tarash_gateway.exceptions.ModelUnavailableError` (falls back to the
    next config without same-config retries); any other error is returned unchanged.

    Handlers call it on the error their ``map_error`` built.
    """
    import re

    from tarash.tarash_gateway.exceptions import (
        ContentModerationError,
        HTTPError,
        ModelRetiredError,
        ModelUnavailableError,
        TarashException,
        ValidationError,
    )

    if not isinstance(error, TarashException) or isinstance(
        error, ModelUnavailableError | ContentModerationError | ModelRetiredError
    ):
        return error
    status = getattr(error, "status_code", None)
    codes = _codes_in(error.raw_response)
    text = error.message
    matched = bool(codes & _UNAVAILABLE_CODES)
    if (
        not matched
        and isinstance(error, HTTPError | ValidationError)
        and status in (None, 400, 403, 404, 410, 422)
    ):
        matched = re.search(_UNAVAILABLE_TEXT, text, re.IGNORECASE) is not None
    if not matched and isinstance(error, ValidationError) and error.field == "model":
        matched = status in (None, 400, 404, 422) and isinstance(error.raw_response, dict | str)
    if not matched:
        return error
    out = ModelUnavailableError(
        f"the provider does not serve model {error.model!r} here: {text}",
        error.provider,
        error.model,
        error.request_id,
        error.raw_response,
        status_code=status if isinstance(status, int) else 404,
    )
    out.__cause__ = error
    return out


def _codes_in(raw: Any, depth: int = 0) -> set[str]:
    """Lower-cased ``code`` / ``type`` / ``error_code`` / ``status`` strings in an error body."""
    found: set[str] = set()
    if depth > 4:
        return found
    if isinstance(raw, dict):
        for key, value in raw.items():
            if key in ("code", "type", "error_code", "status", "reason") and isinstance(value, str):
                found.add(value.lower())
            elif isinstance(value, dict | list):
                found |= _codes_in(value, depth + 1)
    elif isinstance(raw, list):
        for value in raw[:20]:
            found |= _codes_in(value, depth + 1)
    return found


# ============================================================================ docs

DOCS_BEGIN = "<!-- catalog:begin (generated by scripts/catalog_docs.py; do not edit) -->"
DOCS_END = "<!-- catalog:end -->"


def markdown_table(provider: str) -> str:
    """The "Models and lifecycle" section of ``docs/providers/<provider>.md``."""
    rows = [
        "## Models and lifecycle",
        "",
        "| model | operations | API | lifecycle | replacement | source (checked) |",
        "|---|---|---|---|---|---|",
    ]
    for item in entries(provider):
        state: str = item.status()
        if item.shutdown:
            state += f" ({'since' if state == 'retired' else 'shuts down'} {item.shutdown})"
        rows.append(
            f"| `{item.model}` | {', '.join(sorted(item.operations))} | {item.api or 'all'} "
            f"| {state} | {f'`{item.replacement}`' if item.replacement else '—'} "
            f"| {item.source} ({item.checked}) |"
        )
    return "\n".join([DOCS_BEGIN, *rows, DOCS_END])
