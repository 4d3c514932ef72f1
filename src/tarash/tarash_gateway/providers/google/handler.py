"""Google provider: Veo (video), Imagen and Gemini image models, on the Gemini API or Vertex AI.

Built on the official ``google-genai`` SDK (imported lazily), one client per
key / base URL / API mode, SDK retries off (``HttpRetryOptions(attempts=1)``,
which also disables the SDK's implicit reconnect-and-retry on aiohttp
connection errors) so the orchestrator alone retries and falls back.

Which API a config uses is decided by :func:`~.modes.resolve_mode` (Gemini API
by default with an API key; Vertex with ``provider_config={"vertexai": True}``
or a project). Model families and their limits live in
:mod:`~.field_mappings`; the family modules :mod:`~.video` and :mod:`~.image`
speak the wire protocols.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from tarash.tarash_gateway.catalog import as_model_unavailable, check_model, closest
from tarash.tarash_gateway.exceptions import (
    AuthenticationError,
    TarashException,
    ValidationError,
)
from tarash.tarash_gateway.jobs import JobRef, JobStatus, Operation
from tarash.tarash_gateway.logging import log_warning
from tarash.tarash_gateway.models import BaseGenerationConfig, BaseGenerationRequest
from tarash.tarash_gateway.providers.base import (
    AttemptContext,
    BaseProviderHandler,
    Prepared,
    Submission,
)
from tarash.tarash_gateway.providers.field_mappers import (
    apply_field_mappers,
    field_errors,
    match_model_key,
)
from tarash.tarash_gateway.providers.google.common import GoogleClients, load_sdk
from tarash.tarash_gateway.providers.google.errors import PROVIDER, map_exception
from tarash.tarash_gateway.providers.google.field_mappings import (
    Family,
    check_extra_params,
    family_of,
    generic_mappers,
    normalise_model_name,
)
from tarash.tarash_gateway.providers.google.modes import ApiMode, resolve_mode

if TYPE_CHECKING:
    pass

__all__ = ["GoogleProviderHandler"]

_OPERATION_OF: dict[Family, Operation] = {
    "veo": "video",
    "imagen": "image",
    "gemini_image": "image",
}


class GoogleProviderHandler(BaseProviderHandler):
    """Veo, Imagen and Gemini image models through ``google-genai``."""

    name: ClassVar[str] = "google"
    operations: ClassVar[frozenset[Operation]] = frozenset({"video", "image"})
    api_key_env: ClassVar[tuple[str, ...]] = ("GOOGLE_API_KEY", "GEMINI_API_KEY")
    base_url_env: ClassVar[tuple[str, ...]] = (
        "GOOGLE_GEMINI_BASE_URL",
        "GOOGLE_VERTEX_BASE_URL",
    )  # read by the SDK itself

    # ------------------------------------------------------------------ modes, credentials

    def mode(self, config: BaseGenerationConfig) -> ApiMode:
        """The API ``config`` talks to (see :mod:`~.modes`)."""
        return resolve_mode(config, has_api_key=bool(self.api_key(config)))

    def check_credentials(self, config: BaseGenerationConfig) -> None:
        """An API key, or on Vertex a project / credentials (Application Default Credentials)."""
        mode = self.mode(config)
        if mode.vertex and mode.location is not None:
            return  # project mode: ADC or provider_config['credentials'] authenticate
        if not self.api_key(config):
            where = "Vertex AI express mode" if mode.vertex else "the Gemini API"
            raise AuthenticationError(
                f"no API key for provider 'google' ({where}): pass api_key in the config or "
                "set GOOGLE_API_KEY / GEMINI_API_KEY; for Vertex AI with a project use "
                "provider_config={'vertexai': True, 'project': ..., 'location': ...}",
                PROVIDER,
                config.model,
                status_code=None,
            )

    # ------------------------------------------------------------------ 1. prepare

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        """Validate and map (no I/O). Provider-only parameters are checked, not merged raw."""
        self.require(operation, config)
        self.check_credentials(config)
        warnings: list[str] = check_model(self.name, operation, config, request)
        payload, key = self.prepare_payload(operation, config, request, warnings)
        return Prepared(operation, request, payload, key, warnings)

    def prepare_payload(
        self,
        operation: Operation,
        config: BaseGenerationConfig,
        request: BaseGenerationRequest,
        warnings: list[str],
    ) -> tuple[dict[str, Any], str | None]:
        """Map the request for the model's family and the config's API mode."""
        model_name = normalise_model_name(config.model)
        registry = self.field_mappings()
        key = match_model_key(config.model, registry.keys()) or match_model_key(
            model_name, registry.keys()
        )
        family = family_of(key or model_name)
        if family is None:
            known = ", ".join(sorted(registry)[:12])
            guess = closest(PROVIDER, model_name, operation)
            hint = f"; did you mean {guess!r}?" if guess else ""
            raise ValidationError(
                f"model {config.model!r} is not a Google Veo, Imagen or Gemini image model "
                f"known to provider 'google' (known: {known}…){hint}",
                PROVIDER,
                config.model,
                field="model",
            )
        if _OPERATION_OF[family] != operation:
            raise ValidationError(
                f"model {config.model!r} generates {_OPERATION_OF[family]}s, not {operation}s",
                PROVIDER,
                config.model,
                field="model",
            )
        if key is not None:
            mappers = registry[key]
        else:
            mappers = generic_mappers(family)
            warnings.append(
                f"model {config.model!r} has no validated field mapping on 'google'; "
                f"it is treated as a {family} model and its values are not range-checked"
            )
            log_warning(
                "Model not in field-mapping registry; using the family's generic mapping",
                {"provider": PROVIDER, "model": config.model, "family": family},
                "providers.google",
            )
        payload = apply_field_mappers(mappers, request, provider=PROVIDER, model=config.model)
        self.check_unsupported(config, request, mappers, warnings)
        mode = self.mode(config)
        self._check_mode_specific(family, mode, config, payload, warnings)
        accepted, unsupported, errors = check_extra_params(
            family, mode.name, self.passthrough_params(request)
        )
        if errors:
            raise field_errors(errors, PROVIDER, config.model)
        self._report(config, mode, unsupported, warnings)
        self._check_cross_field(family, mode, config, payload, accepted)
        payload["extra"] = accepted
        payload["family"] = family
        payload["model_name"] = model_name
        payload["mode"] = mode.to_data()
        return payload, key

    def _check_mode_specific(
        self,
        family: Family,
        mode: ApiMode,
        config: BaseGenerationConfig,
        payload: dict[str, Any],
        warnings: list[str],
    ) -> None:
        """Parameters the Gemini API does not take (Vertex takes them all)."""
        if mode.vertex:
            return
        unsupported: list[tuple[str, str]] = []
        if family in ("veo", "imagen") and payload.pop("seed", None) is not None:
            unsupported.append(("seed", "Vertex AI only"))
        if family == "imagen" and payload.pop("negative_prompt", None) is not None:
            unsupported.append(("negative_prompt", "Vertex AI only"))
        if family == "veo":
            if payload.pop("generate_audio", None) is False:
                unsupported.append(
                    ("generate_audio", "False is Vertex AI only (the Gemini API always adds audio)")
                )
            refs = payload.get("reference_images") or []
            if any(r["reference_type"] == "STYLE" for r in refs):
                unsupported.append(("image_list[style]", "Vertex AI only"))
                payload["reference_images"] = [r for r in refs if r["reference_type"] != "STYLE"]
                if not payload["reference_images"]:
                    del payload["reference_images"]
        self._report(config, mode, unsupported, warnings)

    def _report(
        self,
        config: BaseGenerationConfig,
        mode: ApiMode,
        unsupported: list[tuple[str, str]],
        warnings: list[str],
    ) -> None:
        """``on_unsupported_param`` for fields this mode/model does not take, with reasons."""
        if not unsupported or config.on_unsupported_param == "ignore":
            return
        message = f"model {config.model!r} on {mode.label} does not support: " + "; ".join(
            f"{field} ({reason})" for field, reason in unsupported
        )
        if config.on_unsupported_param == "error":
            raise ValidationError(
                message + " (set on_unsupported_param='warn' or 'ignore' to send without them)",
                PROVIDER,
                config.model,
                field=unsupported[0][0],
                errors=[{"field": f, "message": reason} for f, reason in unsupported],
            )
        warnings.append(message)

    @staticmethod
    def _check_cross_field(
        family: Family,
        mode: ApiMode,
        config: BaseGenerationConfig,
        payload: dict[str, Any],
        extra: dict[str, Any],
    ) -> None:
        if family == "veo" and "last_frame" in payload and "image" not in payload:
            raise ValidationError(
                "a last_frame image needs a first_frame image (Veo interpolates between them)",
                PROVIDER,
                config.model,
                field="image_list",
            )
        if (
            family == "imagen"
            and mode.vertex
            and payload.get("seed") is not None
            and extra.get("add_watermark") is not False
        ):
            raise ValidationError(
                "Imagen ignores seed while its SynthID watermark is on; pass "
                "extra_params={'add_watermark': False} to use a seed",
                PROVIDER,
                config.model,
                field="seed",
            )

    # ------------------------------------------------------------------ clients

    def _clients(self, config: BaseGenerationConfig, mode: ApiMode) -> GoogleClients:
        def factory() -> GoogleClients:
            from google import genai
            from google.genai import types

            options = types.HttpOptions(
                base_url=config.base_url,
                api_version=config.api_version,
                retry_options=types.HttpRetryOptions(attempts=1),
            )
            kwargs: dict[str, Any] = {"vertexai": mode.vertex, "http_options": options}
            if mode.vertex and mode.location is not None:
                kwargs["project"] = mode.project
                kwargs["location"] = mode.location
                credentials = config.provider_config.get("credentials")
                if credentials is not None:
                    kwargs["credentials"] = credentials
                elif config.api_key is not None:
                    kwargs["api_key"] = config.api_key_value()
            else:
                kwargs["api_key"] = self.api_key(config)
            try:
                client = genai.Client(**kwargs)
            except Exception as exc:  # ValueError, google.auth DefaultCredentialsError …
                raise AuthenticationError(
                    f"google-genai could not set up a client for {mode.label}: "
                    f"{type(exc).__name__}: {exc}",
                    PROVIDER,
                    config.model,
                    status_code=None,
                ) from exc
            return GoogleClients(client, mode)

        return self.client(config, factory, kind=("genai", mode.name, mode.project, mode.location))

    def _job_mode(self, ctx: AttemptContext, job: JobRef) -> ApiMode:
        return ApiMode.from_data(job.data) or self.mode(ctx.config)

    # ------------------------------------------------------------------ 2-5. steps

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> Submission:
        """Veo: start the operation (a JobRef). Images: the finished response."""
        from tarash.tarash_gateway.providers.google import image, video

        await load_sdk()
        payload = prepared.payload
        mode = ApiMode.from_data(payload["mode"]) or self.mode(ctx.config)
        clients = self._clients(ctx.config, mode)
        family: Family = payload["family"]
        model_name: str = payload["model_name"]
        if family == "veo":
            return await video.submit_veo(ctx, clients, payload, model_name)
        await ctx.emit(JobStatus(state="processing", message=f"generating on {mode.label}"))
        if family == "imagen":
            return await image.generate_imagen(ctx, clients, payload, model_name)
        return await image.generate_gemini_image(ctx, clients, payload, model_name)

    async def status(self, ctx: AttemptContext, job: JobRef) -> JobStatus:
        """One ``operations.get`` of the Veo operation."""
        from tarash.tarash_gateway.providers.google import video

        await load_sdk()
        clients = self._clients(ctx.config, self._job_mode(ctx, job))
        operation = await video.fetch_operation(ctx, clients, job)
        status = video.interpret_operation(ctx, job, operation)
        if status.state == "completed":
            ctx.job_state["finished"] = (job.provider_request_id, operation)
        return status

    async def result(self, ctx: AttemptContext, job: JobRef) -> Any:
        """The videos of the finished operation (Gemini API files are downloaded)."""
        from tarash.tarash_gateway.providers.google import video

        await load_sdk()
        clients = self._clients(ctx.config, self._job_mode(ctx, job))
        cached = ctx.job_state.pop("finished", None)
        operation = cached[1] if cached and cached[0] == job.provider_request_id else None
        if operation is None:
            operation = await video.fetch_operation(ctx, clients, job)
        return await video.videos_response(ctx, clients, job, operation)

    async def cancel(self, ctx: AttemptContext, job: JobRef) -> bool:
        """Veo operations cannot be cancelled (neither API offers it): never confirmed."""
        return False

    def map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """Typed error of ``exc``; "model not found / sunset / not here" falls back at once."""
        mapped: TarashException | None = as_model_unavailable(self._map_error(exc, ctx))
        return mapped

    def _map_error(self, exc: BaseException, ctx: AttemptContext) -> TarashException | None:
        """SDK / transport exceptions → typed errors (see :mod:`~.errors`)."""
        return map_exception(exc, model=ctx.model, timeout=ctx.config.timeout)
