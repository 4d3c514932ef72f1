"""A user's ``generate_*`` handler, run through the same step contract as built-ins.

The specification's custom providers (``register_provider(name, handler)``) implement
the ``ProviderHandler`` protocol: ``generate_video(config, request, on_progress)`` and
``generate_video_async(...)`` (and the image / TTS / STS pairs). The orchestrator only
runs :class:`~tarash.tarash_gateway.providers.steps.StepHandler`\\ s, so the registry
wraps such a handler in :class:`ProtocolHandlerAdapter`: its ``submit`` is one call of
the user's method and returns the finished response (a *direct* operation), so the
orchestrator's one attempt path — retries, fallback, deadline, metadata, progress —
applies to user handlers exactly as to built-ins.

Semantics kept from the specification:

* the blocking API calls the handler's blocking method (in a worker thread, off the
  event loop) and the async API its async method; either falls back to the other
  when one is missing;
* a ``NotImplementedError`` from the handler surfaces as ``NotImplementedError``
  (:class:`~tarash.tarash_gateway.exceptions.OperationNotSupportedError`);
* the request id the handler puts in its response is kept as the response's
  ``provider_request_id`` (the response's ``request_id`` is always ours).
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from tarash.tarash_gateway.exceptions import OperationNotSupportedError, TarashException
from tarash.tarash_gateway.jobs import JobStatus, Operation
from tarash.tarash_gateway.models import (
    OPERATIONS,
    BaseGenerationConfig,
    BaseGenerationRequest,
    BaseGenerationResponse,
    BaseGenerationUpdate,
)
from tarash.tarash_gateway.providers.steps import AttemptContext, Prepared, StepHandler

__all__ = ["ProtocolHandlerAdapter", "adapt_handler"]


def _methods(handler: Any, operation: Operation) -> tuple[Any, Any]:
    method = OPERATIONS[operation].method
    sync = getattr(handler, method, None)
    async_ = getattr(handler, f"{method}_async", None)
    return (sync if callable(sync) else None, async_ if callable(async_) else None)


def _status_of(update: Any) -> JobStatus:
    """A user handler's progress update as the job observation the orchestrator reports."""
    if not isinstance(update, BaseGenerationUpdate):
        return JobStatus(state="processing", raw={"update": repr(update)[:500]})
    state = {"queued": "queued", "failed": "failed"}.get(update.status, "processing")
    return JobStatus(
        state=state,
        progress_percent=update.progress_percent,
        queue_position=update.queue_position,
        logs=list(update.logs),
        message=update.error,
        raw=dict(update.update),
    )


def adapt_handler(name: str, handler: Any) -> ProtocolHandlerAdapter:
    """Wrap ``handler`` for provider ``name`` (a subclass per registration carries the
    registry name and the operations the handler has methods for)."""
    cls = type(
        f"ProtocolHandlerAdapter[{name}]",
        (ProtocolHandlerAdapter,),
        {
            "name": name,
            "operations": frozenset(op for op in OPERATIONS if any(_methods(handler, op))),
        },
    )
    adapter: ProtocolHandlerAdapter = cls(handler)
    return adapter


class ProtocolHandlerAdapter(StepHandler):
    """Runs a ``ProviderHandler``-protocol object (``generate_*`` methods) as steps.

    Create it with :func:`adapt_handler`.
    """

    def __init__(self, handler: Any) -> None:
        self.provider_name = self.name
        self.wrapped = handler

    def __repr__(self) -> str:
        return f"ProtocolHandlerAdapter({self.provider_name!r}, {type(self.wrapped).__name__})"

    def prepare(
        self, operation: Operation, config: BaseGenerationConfig, request: BaseGenerationRequest
    ) -> Prepared:
        if operation not in self.operations:
            method = OPERATIONS[operation].method
            raise OperationNotSupportedError(
                f"provider {self.provider_name!r} does not support {operation} generation "
                f"(its handler has no {method} method)",
                self.provider_name,
                config.model,
            )
        # The handler validates its own requests; there is nothing to map.
        return Prepared(operation, request, {})

    async def submit(self, ctx: AttemptContext, prepared: Prepared) -> BaseGenerationResponse:
        sync, async_ = _methods(self.wrapped, prepared.operation)

        async def forward(update: Any) -> None:
            await ctx.emit(_status_of(update))

        try:
            if async_ is not None and (not ctx.blocking or sync is None):
                outcome = async_(ctx.config, prepared.request, forward)
            else:
                loop = asyncio.get_running_loop()

                def forward_sync(update: Any) -> None:
                    # From the worker thread back onto the loop that runs the attempt.
                    asyncio.run_coroutine_threadsafe(forward(update), loop).result(30)

                outcome = await asyncio.to_thread(sync, ctx.config, prepared.request, forward_sync)
            if inspect.isawaitable(outcome):
                outcome = await outcome
        except TarashException:
            raise
        except NotImplementedError as exc:
            raise OperationNotSupportedError(
                f"provider {self.provider_name!r} does not implement {prepared.operation} "
                f"generation: {exc}",
                self.provider_name,
                ctx.model,
            ) from exc
        spec = OPERATIONS[prepared.operation]
        if not isinstance(outcome, spec.response_type):
            return outcome  # type: ignore[no-any-return]  # the orchestrator rejects it, typed
        if outcome.provider_request_id is None and outcome.request_id != ctx.request_id:
            outcome = outcome.model_copy(update={"provider_request_id": outcome.request_id})
        return outcome
