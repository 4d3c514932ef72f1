"""Which provider and model run, and the config chain (keys, endpoints, fallbacks, mock)."""

import math
import os
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from tarash.tarash_gateway import catalog
from tarash.tarash_gateway.cli._config import CliSettings
from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import EXIT_AUTH, CliError, describe_error
from tarash.tarash_gateway.cli._options import CommonOptions
from tarash.tarash_gateway.cli._settings import (
    AUTO_ORDER,
    CATALOG,
    KEY_PAIRS,
    MOCK_ENV,
    MOCK_FAILURES,
    OPERATIONS,
    PROVIDER_ENV,
    Operation,
    ProviderStatus,
    canonical_provider,
    default_config_path,
    mock_forced,
    provider_status,
)
from tarash.tarash_gateway.models import (
    AudioGenerationConfig,
    BaseGenerationConfig,
    ImageGenerationConfig,
    MockConfig,
    MockPollingConfig,
    MockResponse,
    RetryPolicy,
    VideoGenerationConfig,
)
from tarash.tarash_gateway.registry import list_providers

__all__ = ["CONFIG_TYPES", "Selector", "split_provider_model"]

CONFIG_TYPES: dict[str, type[BaseGenerationConfig]] = {
    "video": VideoGenerationConfig,
    "image": ImageGenerationConfig,
    "tts": AudioGenerationConfig,
    "sts": AudioGenerationConfig,
}


def split_provider_model(provider: str | None, model: str | None) -> tuple[str | None, str | None]:
    """LiteLLM-style ``PROVIDER/MODEL`` (``-m openai/gpt-image-2``, ``-m fal/fal-ai/veo3.1``).

    Without ``--provider``, a model whose first segment is exactly a provider's registry
    name runs on that provider with the rest as its id. ``fal-ai/…`` stays a fal model id
    (aliases do not split), and with ``--provider`` given the model is taken as written
    (Replicate ids are ``owner/name``; ``-p fal -m fal/…`` drops the repeated prefix).
    """
    if not model or "/" not in model:
        return provider, model
    head, _, rest = model.partition("/")
    if provider is None:
        if head in list_providers() and rest.strip():
            return head, rest
        return provider, model
    if head == provider and head in list_providers() and head != "replicate" and rest.strip():
        return provider, rest
    return provider, model


def _forced_note(provider: str, model: str, operation: str) -> str:
    """What ``TARASH_GATEWAY_MOCK`` did with a real provider's model (honestly)."""
    if provider == "mock":
        return ""
    if catalog.lookup(provider, model) is not None:
        return f" ({provider}/{model} is checked against its catalog entry, not called)"
    return (
        f" ({provider}/{model} is not called; "
        f"{catalog.unknown_model_message(provider, model, operation)})"
    )


class Selector:
    """Chooses providers and models and builds the config chain for one command.

    Provider: ``--provider``, else ``$TARASH_PROVIDER``, else ``[defaults.<operation>]
    provider``, else the config file's ``provider`` (if it offers the operation), else the
    mock — announced on stderr, with the API keys seen in the environment (a key alone
    never selects a paid provider). Model: ``--model``, else the
    config file, else the handler's ``default_models``, else the built-in catalog.
    """

    def __init__(self, operation: Operation, settings: CliSettings, out: Output) -> None:
        self.operation = operation
        self.settings = settings
        self.out = out
        self.forced = mock_forced()
        self._status: dict[str, ProviderStatus] = {}
        self._notices: list[str] = []

    def status(self, provider: str) -> ProviderStatus:
        if provider not in self._status:
            self._status[provider] = provider_status(provider, self.settings)
        return self._status[provider]

    def _configured_provider(self) -> str | None:
        defaults = self.settings.for_operation(self.operation)
        if defaults.provider:
            where = f"[defaults.{self.operation}] provider"
            return canonical_provider(defaults.provider, option=where)
        if self.settings.provider:
            name = canonical_provider(self.settings.provider, option="config provider")
            if self.status(name).supports(self.operation):
                return name
        return None

    def _keys_seen(self) -> list[tuple[str, str]]:
        """(provider, where its key was found) of every provider offering the operation."""
        seen = []
        for name in AUTO_ORDER.get(self.operation, ()):
            if name not in CATALOG:
                continue
            status = self.status(name)
            if status.key_source and status.supports(self.operation):
                where = status.key_source
                if not status.sdk_installed:
                    where += f" — needs pip install 'tarash-gateway[{status.extra}]'"
                seen.append((name, where))
        return seen

    def primary(self, provider: str | None) -> str:
        """The first provider: named by --provider, $TARASH_PROVIDER or the config file.

        A real (paid) provider is never picked just because its key is in the
        environment: unnamed, the command runs on the mock and says which keys it saw.
        """
        if provider:
            return canonical_provider(provider)
        from_env = os.environ.get(PROVIDER_ENV, "").strip()
        if from_env:
            return canonical_provider(from_env, option=f"${PROVIDER_ENV}")
        configured = self._configured_provider()
        if configured:
            return configured
        if not self.forced:
            seen = self._keys_seen()
            if seen:
                keys = ", ".join(f"{source} ({name})" for name, source in seen)
                first = seen[0][0]
                config = self.settings.path or default_config_path()
                self._notices.append(
                    f"no provider named, so this runs offline on the mock provider (synthetic "
                    f"media, nothing is paid for); API keys seen: {keys}. To use one: "
                    f"--provider {first}, or export {PROVIDER_ENV}={first}, or "
                    f'provider = "{first}" in {config}'
                )
            else:
                self._notices.append(
                    "no provider named, so this runs offline on the mock provider (synthetic "
                    "media); to use a real one pass --provider NAME (with its API key set, "
                    f"e.g. FAL_KEY or OPENAI_API_KEY) or export {PROVIDER_ENV}=NAME"
                )
        return "mock"

    def default_model(self, provider: str) -> str:
        defaults = self.settings.for_operation(self.operation)
        if defaults.model:
            configured = defaults.provider or self.settings.provider
            if configured and canonical_provider(configured, option="config") == provider:
                return defaults.model
        model = self.status(provider).default_models.get(self.operation)
        if not model:
            raise CliError(
                f"no default {self.operation} model for {provider}; pass --model "
                f"(see: tarash models {provider})"
            )
        return model

    def fallback(self, spec: str) -> tuple[str, str | None]:
        if ":" not in spec:
            named, model_only = split_provider_model(None, spec.strip())
            if named is not None:
                return canonical_provider(named, option="--fallback"), model_only
        provider, _, model = spec.partition(":")
        if not provider.strip():
            raise CliError(f"--fallback: expected PROVIDER[:MODEL], got {spec!r}")
        name = canonical_provider(provider.strip(), option="--fallback")
        return name, model.strip() or None

    def is_mocked(self, provider: str, primary: bool, mock_fail: Sequence[str]) -> bool:
        return provider == "mock" or self.forced or (primary and bool(mock_fail))

    def check_operation(self, provider: str) -> None:
        status = self.status(provider)
        if not status.supports(self.operation):
            offered = ", ".join(o for o in OPERATIONS if o in status.operations) or "nothing"
            raise CliError(
                f"{provider} does not offer {self.operation} generation (it offers: {offered})"
            )

    def check(self, provider: str, *, need_key: bool = True) -> None:
        """Fail early, with a helpful line, when a real provider cannot run here.

        ``need_key=False`` (``--dry-run``): a missing key is a notice, not an error.
        """
        status = self.status(provider)
        self.check_operation(provider)
        if not status.available:
            raise CliError(f"provider {provider!r} is unavailable: {status.problem}")
        if not status.sdk_installed:
            install = f"pip install 'tarash-gateway[{status.extra}]'"
            raise CliError(
                f"provider {provider!r} needs the {status.sdk_package} package, which is not "
                f"installed: {install}",
                kind="missing_sdk",
                details={"provider": provider, "package": status.sdk_package, "install": install},
            )
        if status.requires_key and not status.has_key:
            config = self.settings.path or default_config_path()
            names = [*status.env_vars, *(f"{a} + {b}" for a, b in KEY_PAIRS.get(provider, ()))]
            variables = " or ".join(names) or "its API key variable"
            if not need_key:
                self._notices.append(f"no API key for {provider} (a real run needs {variables})")
                return
            raise CliError(
                f"no API key for {provider}: set {variables}, or add api_key under "
                f"[providers.{provider}] in {config}",
                EXIT_AUTH,
                kind="missing_api_key",
                details={"provider": provider, "env": names},
            )

    def mock_config(self, primary: bool, mock_fail: Sequence[str]) -> MockConfig | None:
        settings = self.settings.mock
        kinds = list(mock_fail) if primary else []
        polling = None
        if settings.delay is not None and self.operation == "video":
            polling = MockPollingConfig(delay_between_updates=settings.delay)
        responses = [
            MockResponse.model_validate({"error": None if kind == "ok" else kind}) for kind in kinds
        ]
        if not (polling or responses or settings.seed is not None):
            return MockConfig(enabled=True) if kinds else None
        return MockConfig(
            enabled=True,
            responses=responses or None,
            selection="sequence",
            polling=polling,
            seed=settings.seed,
        )

    def config(
        self,
        provider: str,
        model: str,
        opts: CommonOptions,
        *,
        primary: bool,
        mock_fail: Sequence[str],
    ) -> BaseGenerationConfig:
        config_type = CONFIG_TYPES[self.operation]
        configured = self.settings.provider_settings(provider)
        defaults = self.settings.for_operation(self.operation)
        data: dict[str, Any] = {"provider": provider, "model": model}
        status = self.status(provider)
        if configured.api_key is not None and not (status.key_source or "").startswith("$"):
            data["api_key"] = configured.api_key
        base_url = (opts.base_url if primary else None) or configured.base_url
        if base_url:
            data["base_url"] = base_url
        if configured.api_version:
            data["api_version"] = configured.api_version
        if configured.provider_config:
            data["provider_config"] = configured.provider_config
        timeout = opts.timeout or defaults.timeout
        if timeout is not None:
            data["timeout"] = timeout
            default_polls = config_type.model_fields["max_poll_attempts"].default
            data["max_poll_attempts"] = max(int(default_polls), math.ceil(timeout / 0.25))
        poll_interval = opts.poll_interval or defaults.poll_interval
        if poll_interval is not None:
            data["poll_interval"] = poll_interval
        retries = opts.retries if opts.retries is not None else defaults.retries
        if retries is not None:
            data["retry"] = RetryPolicy(max_retries=retries)
        if opts.on_unsupported:
            data["on_unsupported_param"] = opts.on_unsupported
        if self.is_mocked(provider, primary, mock_fail):
            mock = self.mock_config(primary, mock_fail)
            if mock is not None:
                data["mock"] = mock
        try:
            return config_type.model_validate(data)
        except PydanticValidationError as exc:
            raise CliError(describe_error(exc, self.operation).message) from None

    def chain(self, opts: CommonOptions) -> BaseGenerationConfig:
        mock_fail = opts.mock_fail or self.settings.mock.fail
        for kind in mock_fail:
            if kind not in MOCK_FAILURES:
                raise CliError(f"--mock-fail: {kind!r} is not one of {', '.join(MOCK_FAILURES)}")
        if opts.on_unsupported and opts.on_unsupported not in ("error", "warn", "ignore"):
            raise CliError("--on-unsupported: expected error, warn or ignore")
        named, model = split_provider_model(opts.provider, opts.model)
        specs = [(self.primary(named), model)]
        fallbacks = opts.fallback or self.settings.for_operation(self.operation).fallback
        specs += [self.fallback(spec) for spec in fallbacks]
        configs = []
        for index, (provider, model) in enumerate(specs):
            primary = index == 0
            if not self.is_mocked(provider, primary, mock_fail):
                self.check(provider, need_key=not opts.dry_run)
            elif provider != "mock" and self.status(provider).available:
                self.check_operation(provider)
            chosen = model or self.default_model(provider)
            if primary and self.forced:
                self._notices.append(
                    f"{MOCK_ENV} is set: running offline on the mock provider"
                    + _forced_note(provider, chosen, self.operation)
                )
            configs.append(
                self.config(provider, chosen, opts, primary=primary, mock_fail=mock_fail)
            )
        first = configs[0]
        if len(configs) > 1:
            first = first.model_copy(update={"fallback_configs": configs[1:]})
        for notice in self._notices:  # only once the whole chain is known to be valid
            self.out.notice(notice)
        return first
