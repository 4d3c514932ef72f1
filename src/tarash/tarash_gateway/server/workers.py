"""Workers: advance jobs one step per claim, and deliver webhooks.

A claim takes due rows (``state`` active, ``next_poll_at <= now``, no live lease), sets
``lease_owner``/``lease_expires_at``, and runs **one** step per row:

* ``queued`` → submit: the claim itself moves the row to ``submitting`` (committed), the
  library's intent id lands in it *before* the request leaves, and the answer — a
  ``JobRef``, or a direct operation's result — is written the moment it arrives;
* ``in_progress`` → one status poll; the next poll time comes from the provider's hint;
* ``fetching`` → fetch the result, keep bytes in the results directory;
* ``cancelling`` → cancel upstream.

Between claims a waiting job is a row, not a coroutine. A row found in ``submitting``
whose lease expired (the process died between send and answer) becomes ``unknown`` and
is never resent: the provider may have accepted and may bill it (README "Submission
semantics"). Every step's write is fenced by ``lease_owner``, so a worker that lost its
lease cannot overwrite another's progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tarash.tarash_gateway import (
    cancel_job_async,
    fetch_job_result_async,
    get_job_status_async,
    submit_job_async,
)
from tarash.tarash_gateway.exceptions import TarashException
from tarash.tarash_gateway.jobs import JobRecord, JobRef, SubmitIntent, set_job_store
from tarash.tarash_gateway.models import (
    BaseGenerationConfig,
    BaseGenerationRequest,
    STSRequest,
    TTSRequest,
)
from tarash.tarash_gateway.models import (
    ImageGenerationRequest as _ImageRequest,
)
from tarash.tarash_gateway.models import (
    VideoGenerationRequest as _VideoRequest,
)
from tarash.tarash_gateway.server import db as dbm
from tarash.tarash_gateway.server.config import ServerSettings
from tarash.tarash_gateway.server.metrics import Metrics
from tarash.tarash_gateway.server.storage import ResultStore, StorageError
from tarash.tarash_gateway.server.webhooks_in import PROVIDERS as WEBHOOK_PROVIDERS
from tarash.tarash_gateway.server.webhooks_in import webhook_url_for
from tarash.tarash_gateway.webhook_hint import provider_webhook_url

__all__ = ["REQUEST_TYPES", "Engine", "ResultStore", "current_job"]

_log = logging.getLogger("tarash.server.workers")

REQUEST_TYPES: dict[str, type[BaseGenerationRequest]] = {
    "video": _VideoRequest,
    "image": _ImageRequest,
    "tts": TTSRequest,
    "sts": STSRequest,
}

current_job: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tarash_server_job", default=None
)
"""The server job whose submit is running in this task (read by :class:`_RowIntents`)."""


class _RowIntents:
    """The library's job store, pointed at the server's rows.

    The orchestrator writes a :class:`SubmitIntent` before it sends a submit; here the
    intent id lands in the server job's row (``current_job``) in its own committed
    transaction, so the row names the exact submit attempt that may be in flight. The
    accepted :class:`JobRef` is written the moment the provider answered.
    """

    def __init__(self, db: dbm.Database) -> None:
        self.db = db

    async def record_intent(self, intent: SubmitIntent) -> None:
        job_id = current_job.get()
        if job_id is None:
            return

        def write(conn: Connection) -> None:
            conn.execute(
                dbm.jobs.update()
                .where(dbm.jobs.c.id == job_id)
                .values(intent_id=intent.intent_id, updated_at=dbm.now())
            )

        await self.db.run(write)

    async def resolve_intent(self, intent_id: str, job: JobRef) -> None:
        job_id = current_job.get()
        if job_id is None:
            return
        text = job.to_json()

        def write(conn: Connection) -> None:
            conn.execute(
                dbm.jobs.update()
                .where(dbm.jobs.c.id == job_id, dbm.jobs.c.intent_id == intent_id)
                .values(job_ref=text, provider=job.provider, updated_at=dbm.now())
            )

        await self.db.run(write)

    async def update_intent(self, intent_id: str, state: str, error: str | None = None) -> None:
        return None  # the step records the outcome itself, with the error

    async def record(self, job: JobRef) -> None:
        return None

    async def update(self, job: JobRef, state: str, error: str | None = None) -> None:
        return None

    async def pending(self) -> list[JobRecord]:
        return []

    async def get(self, request_id: str) -> JobRecord | None:
        return None


class Notifier:
    """In-process wake-ups: job changes wake HTTP waiters and SSE streams; new work wakes
    the dispatcher. Best effort — every waiter also re-reads the database on a timer."""

    def __init__(self) -> None:
        self.work = asyncio.Event()
        self._jobs: dict[str, asyncio.Event] = {}

    def job_changed(self, job_id: str) -> None:
        event = self._jobs.pop(job_id, None)
        if event is not None:
            event.set()

    async def wait_job(self, job_id: str, timeout: float) -> None:
        event = self._jobs.setdefault(job_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await event.wait()


# ============================================================================ the engine


def error_json(exc: BaseException, code: str | None = None) -> dict[str, Any]:
    message = str(exc) if isinstance(exc, TarashException) else f"{type(exc).__name__}: {exc}"
    return {
        "code": code or _code(exc),
        "message": message[:2000],
        "type": type(exc).__name__,
    }


def _code(exc: BaseException) -> str:
    name = type(exc).__name__
    return {
        "ValidationError": "invalid_request",
        "ContentModerationError": "moderation_blocked",
        "AuthenticationError": "upstream_auth_failed",
        "RateLimitError": "rate_limited",
        "TarashTimeoutError": "timeout",
    }.get(name, "generation_failed")


StepFn = Callable[[dict[str, Any]], Awaitable[None]]


class Engine:
    """The worker side of one server process: the dispatcher, steps, heartbeats, webhooks."""

    def __init__(
        self,
        db: dbm.Database,
        settings: ServerSettings,
        metrics: Metrics,
        results: ResultStore,
        webhooks: Any,
    ) -> None:
        self.db = db
        self.settings = settings
        self.metrics = metrics
        self.results = results
        self.webhooks = webhooks
        self.notifier = Notifier()
        self.worker_id = f"w_{secrets.token_hex(6)}"
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self.streaming: set[str] = set()  # speech streams served inline (leased like steps)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        set_job_store(_RowIntents(self.db))  # the library's intents go into our rows
        await self.db.run(self._recover)
        self._tasks = [
            asyncio.create_task(self._dispatch(), name="tarash-dispatch"),
            asyncio.create_task(self._heartbeat(), name="tarash-heartbeat"),
            asyncio.create_task(self.webhooks.run(self), name="tarash-webhooks"),
        ]
        if not self.db.is_sqlite:  # many instances: wake on NOTIFY, poll as the backstop
            from tarash.tarash_gateway.server.pg import Listener

            self.listener = Listener(self.db.url, self.notifier.work.set, self.notifier.job_changed)
            self._tasks.append(asyncio.create_task(self.listener.run(), name="tarash-listen"))

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming; let running steps finish for ``grace`` seconds, then cancel them.

        A submit cancelled mid-flight keeps its row in ``submitting`` (outcome unknown),
        which the next start marks ``unknown`` — never resent."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        running = list(self._inflight.values())
        if running:
            _done, late = await asyncio.wait(running, timeout=grace)
            for task in late:
                task.cancel()
        for task in [*self._tasks, *running]:
            with contextlib.suppress(BaseException):
                await task
        # Give up our leases so another instance (or our restart) carries on at once.
        await self.db.run(self._release)

    def _release(self, conn: Connection) -> None:
        conn.execute(
            dbm.jobs.update()
            .where(
                dbm.jobs.c.lease_owner == self.worker_id,
                dbm.jobs.c.state.in_(dbm.ACTIVE_STATES),
            )
            .values(lease_owner=None, lease_expires_at=None)
        )

    def _recover(self, conn: Connection) -> None:
        t = dbm.now()
        if self.db.is_sqlite:
            # SQLite serves one instance: every lease left in the file is from a dead process.
            conn.execute(
                dbm.jobs.update()
                .where(dbm.jobs.c.lease_owner.is_not(None))
                .values(lease_expires_at=0.0)
            )
        self._sweep_lost_submits(conn, t)

    def _sweep_lost_submits(self, conn: Connection, t: float) -> None:
        """Rows whose submit was in flight when their worker died: outcome unknown."""
        lost = dbm.rows(
            conn.execute(
                sa.select(dbm.jobs.c.id, dbm.jobs.c.state, dbm.jobs.c.intent_id).where(
                    dbm.jobs.c.state.in_(("submitting", "streaming")),
                    dbm.jobs.c.lease_expires_at < t,
                )
            )
        )
        for row in lost:
            error = {
                "code": "submit_outcome_unknown",
                "message": (
                    "the server stopped between sending the submit and its answer; the "
                    "provider may have accepted (and may bill) it, so it is not resent "
                    f"(intent {row['intent_id'] or 'not recorded'})"
                ),
                "type": "SubmitOutcomeUnknown",
            }
            self._finish(conn, row["id"], "unknown", error=error, fence=False)

    # ------------------------------------------------------------------ dispatch

    async def _dispatch(self) -> None:
        sweeps = 0
        while not self._stopping:
            free = self.settings.workers - len(self._inflight)
            claimed: list[dict[str, Any]] = []
            if free > 0:
                try:
                    claimed = await self.db.run(functools.partial(self._claim, limit=free))
                except Exception:
                    _log.exception("claim failed")
                    await asyncio.sleep(1)
            for row in claimed:
                task = asyncio.create_task(self._run_step(row), name=f"step-{row['id']}")
                self._inflight[row["id"]] = task
            sweeps += 1
            if sweeps % 20 == 0:
                await self.db.run(lambda c: self._sweep_lost_submits(c, dbm.now()))
            if claimed and free - len(claimed) > 0:
                continue
            self.notifier.work.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.idle_wakeup):
                    await self.notifier.work.wait()

    def _claim(self, conn: Connection, limit: int) -> list[dict[str, Any]]:
        t = dbm.now()
        j = dbm.jobs
        due = (
            sa.select(j.c.id)
            .where(
                j.c.state.in_(dbm.ACTIVE_STATES),
                j.c.next_poll_at <= t,
                sa.or_(j.c.lease_owner.is_(None), j.c.lease_expires_at < t),
            )
            .order_by(j.c.next_poll_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        # A queued row moves to `submitting` in the claim itself: the submit that follows
        # is then on record (and never resent blindly) without a second commit.
        submit = sa.and_(j.c.state == "queued", j.c.cancel_requested.is_(False))
        result = conn.execute(
            j.update()
            .where(j.c.id.in_(due.scalar_subquery()))
            .values(
                lease_owner=self.worker_id,
                lease_expires_at=t + self.settings.lease_seconds,
                attempts=j.c.attempts + 1,
                state=sa.case((submit, "submitting"), else_=j.c.state),
                submits=sa.case((submit, j.c.submits + 1), else_=j.c.submits),
                intent_id=sa.case((submit, sa.null()), else_=j.c.intent_id),
            )
            .returning(*j.c)
        )
        claimed = dbm.rows(result)
        for row in claimed:
            if row["state"] == "submitting":
                data = {"provider": row["provider"], "chain_index": row["chain_index"]}
                add_event(conn, row["id"], "job.submitting", data)
        return claimed

    async def _heartbeat(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.settings.lease_seconds / 3)
            ids = [*self._inflight, *self.streaming]
            if not ids:
                continue

            def beat(conn: Connection, ids: list[str] = ids) -> None:
                conn.execute(
                    dbm.jobs.update()
                    .where(dbm.jobs.c.id.in_(ids), dbm.jobs.c.lease_owner == self.worker_id)
                    .values(lease_expires_at=dbm.now() + self.settings.lease_seconds)
                )

            with contextlib.suppress(Exception):
                await self.db.run(beat)

    async def _run_step(self, row: dict[str, Any]) -> None:
        kind = row["state"]
        started = time.perf_counter()
        try:
            if row["cancel_requested"] and kind != "cancelling":
                kind = "cancelling"
            step = {
                "submitting": self._submit,  # the claim moved the queued row here
                "in_progress": self._poll,
                "fetching": self._fetch,
                "cancelling": self._cancel,
            }[kind]
            await step(row)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug in a step must not kill the dispatcher
            _log.exception("step %s of %s failed", kind, row["id"])
            bug = error_json(exc)
            await self.db.run(lambda c: self._finish(c, row["id"], "failed", error=bug))
        finally:
            self.metrics.steps.labels(kind).inc()
            self.metrics.step_seconds.labels(kind).observe(time.perf_counter() - started)
            self._inflight.pop(row["id"], None)
            self.notifier.job_changed(row["id"])
            self.notifier.work.set()

    # ------------------------------------------------------------------ helpers

    def chain(self, row: dict[str, Any]) -> list[BaseGenerationConfig]:
        return self.settings.build_configs(row["model_alias"], row["operation"])

    def request(self, row: dict[str, Any]) -> BaseGenerationRequest:
        return REQUEST_TYPES[row["operation"]].model_validate(json.loads(row["request"]))

    def _fenced(self, job_id: str) -> Any:
        return sa.and_(dbm.jobs.c.id == job_id, dbm.jobs.c.lease_owner == self.worker_id)

    def _write(
        self,
        conn: Connection,
        job_id: str,
        values: dict[str, Any],
        event: tuple[str, dict[str, Any]] | None = None,
        fence: bool = True,
    ) -> bool:
        where = self._fenced(job_id) if fence else dbm.jobs.c.id == job_id
        result = conn.execute(dbm.jobs.update().where(where).values(updated_at=dbm.now(), **values))
        if not result.rowcount:
            _log.warning("lost the lease of %s; step result dropped", job_id)
            return False
        if event is not None:
            add_event(conn, job_id, *event)
        return True

    def _finish(
        self,
        conn: Connection,
        job_id: str,
        state: str,
        *,
        result: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        fence: bool = True,
    ) -> None:
        t = dbm.now()
        values: dict[str, Any] = {
            "state": state,
            "lease_owner": None,
            "lease_expires_at": None,
            "completed_at": t,
            "progress": 100 if state == "completed" else None,
        }
        if values["progress"] is None:
            del values["progress"]
        if result is not None:
            values["result"] = dbm.dumps(result)
        if error is not None:
            values["error"] = dbm.dumps(error)
        data: dict[str, Any] = {"state": state}
        if error is not None:
            data["error"] = error
        if not self._write(conn, job_id, values, ("job." + state, data), fence=fence):
            return
        row = dbm.first(conn.execute(sa.select(dbm.jobs).where(dbm.jobs.c.id == job_id)))
        assert row is not None
        cost = (result or {}).get("cost") or {}
        if cost.get("unit") == "usd" and cost.get("amount"):
            conn.execute(
                dbm.keys.update()
                .where(dbm.keys.c.id == row["key_id"])
                .values(spent_usd=dbm.keys.c.spent_usd + float(cost["amount"]))
            )
        # Outbox in the same transaction: a webhook exists only for a committed outcome.
        self.webhooks.enqueue(conn, row)
        self.metrics.finished(row, t)

    def _next_poll(self, hint: float | None, config: BaseGenerationConfig) -> float:
        wait = hint if hint is not None else config.poll_interval
        return dbm.now() + max(self.settings.poll_min, min(self.settings.poll_max, wait))

    # ------------------------------------------------------------------ steps

    async def _submit(self, row: dict[str, Any]) -> None:
        job_id = row["id"]
        chain = self.chain(row)
        config = chain[row["chain_index"]]
        request = self.request(row)
        # The claim already moved the row to `submitting` (one commit, before the send).
        token = current_job.set(job_id)
        hook = (
            webhook_url_for(self.settings.public_url, config.provider, job_id)
            if self.settings.public_url and config.provider in WEBHOOK_PROVIDERS
            else None
        )
        hook_token = provider_webhook_url.set(hook)
        try:
            outcome = await submit_job_async(config, request)
        except TarashException as exc:
            self.metrics.upstream_errors.labels(config.provider, type(exc).__name__).inc()
            failure = exc
            await self.db.run(lambda c: self._after_failed_submit(c, row, chain, failure))
            return
        finally:
            current_job.reset(token)
            provider_webhook_url.reset(hook_token)
        if isinstance(outcome, JobRef):
            ref = outcome.to_json()
            due = dbm.now() + self.settings.poll_min
            await self.db.run(
                lambda c: self._write(
                    c,
                    job_id,
                    {
                        "state": "in_progress",
                        "job_ref": ref,
                        "next_poll_at": due,
                        "lease_owner": None,
                        "lease_expires_at": None,
                    },
                    ("job.accepted", {"provider_request_id": outcome.provider_request_id}),
                )
            )
            return
        saved = await self.results.save(job_id, outcome)
        await self.db.run(lambda c: self._finish(c, job_id, "completed", result=saved))

    def _after_failed_submit(
        self,
        conn: Connection,
        row: dict[str, Any],
        chain: list[BaseGenerationConfig],
        exc: TarashException,
    ) -> None:
        job_id = row["id"]
        if getattr(exc, "outcome_unknown", False):
            self._finish(conn, job_id, "unknown", error=error_json(exc, "submit_outcome_unknown"))
            return
        nxt = row["chain_index"] + 1
        if exc.retryable and nxt < len(chain) and not row["cancel_requested"]:
            self.metrics.fallbacks.labels(chain[nxt].provider).inc()
            self._write(
                conn,
                job_id,
                {
                    "state": "queued",
                    "provider": chain[nxt].provider,
                    "chain_index": nxt,
                    "next_poll_at": dbm.now(),
                    "lease_owner": None,
                    "lease_expires_at": None,
                },
                ("job.fallback", {"to": chain[nxt].provider, "error": error_json(exc)}),
            )
            return
        self._finish(conn, job_id, "failed", error=error_json(exc))

    async def _poll(self, row: dict[str, Any]) -> None:
        job_id = row["id"]
        config = self.chain(row)[row["chain_index"]]
        ref = JobRef.from_json(row["job_ref"])
        try:
            status = await get_job_status_async(ref, config)
        except TarashException as exc:
            self.metrics.upstream_errors.labels(config.provider, type(exc).__name__).inc()
            poll_error = error_json(exc)
            if time.time() - ref.submitted_at.timestamp() > config.timeout:
                await self.db.run(lambda c: self._finish(c, job_id, "failed", error=poll_error))
                return
            backoff = min(
                self.settings.poll_max, self.settings.poll_min * 2 ** min(row["attempts"], 8)
            )
            await self.db.run(
                lambda c: self._write(
                    c,
                    job_id,
                    {
                        "next_poll_at": dbm.now() + backoff,
                        "lease_owner": None,
                        "lease_expires_at": None,
                    },
                    ("job.poll_error", {"error": poll_error}),
                )
            )
            return
        if status.state == "completed":
            values: dict[str, Any] = {
                "state": "fetching",
                "next_poll_at": dbm.now(),
                "lease_owner": None,
                "lease_expires_at": None,
            }
            await self.db.run(lambda c: self._write(c, job_id, values))
            self.notifier.work.set()
            return
        if status.state in ("failed", "cancelled"):
            err = status.error
            error = (
                error_json(err)
                if err is not None
                else {"code": "generation_failed", "message": status.message or status.state}
            )
            await self.db.run(
                lambda c: self._finish(
                    c, job_id, "failed" if status.state == "failed" else "cancelled", error=error
                )
            )
            return
        progress = (
            status.progress_percent if status.progress_percent is not None else row["progress"]
        )
        overdue = time.time() - ref.submitted_at.timestamp() > config.timeout
        data: dict[str, Any] = {
            "state": "in_progress",
            "upstream": status.state,
            "progress": progress,
        }
        if status.queue_position is not None:
            data["queue_position"] = status.queue_position
        if status.logs:
            data["logs"] = status.logs[-20:]
        values = {
            "progress": progress,
            "next_poll_at": self._next_poll(status.poll_after, config),
            "lease_owner": None,
            "lease_expires_at": None,
        }
        if overdue:  # past the alias's timeout: cancel upstream, then fail as a timeout
            timeout = {
                "code": "timeout",
                "message": f"the job did not finish within {config.timeout:g} s",
                "type": "TarashTimeoutError",
            }
            values.update(cancel_requested=True, next_poll_at=dbm.now(), error=dbm.dumps(timeout))
        changed = progress != row["progress"] or status.logs or status.queue_position is not None
        await self.db.run(
            lambda c: self._write(c, job_id, values, ("job.progress", data) if changed else None)
        )

    async def _fetch(self, row: dict[str, Any]) -> None:
        job_id = row["id"]
        config = self.chain(row)[row["chain_index"]]
        ref = JobRef.from_json(row["job_ref"])
        try:
            response = await fetch_job_result_async(ref, config)
            saved = await self.results.save(job_id, response)
        except (TarashException, StorageError) as exc:
            if isinstance(exc, TarashException):
                self.metrics.upstream_errors.labels(config.provider, type(exc).__name__).inc()
                fetch_error = error_json(exc, "result_fetch_failed")
            else:  # the bucket is down: fetch again later (bounded below)
                fetch_error = {"code": "result_store_failed", "message": str(exc)}
            if row["attempts"] > 30:
                await self.db.run(lambda c: self._finish(c, job_id, "failed", error=fetch_error))
                return
            await self.db.run(
                lambda c: self._write(
                    c,
                    job_id,
                    {
                        "next_poll_at": dbm.now() + 2.0,
                        "lease_owner": None,
                        "lease_expires_at": None,
                    },
                )
            )
            return
        await self.db.run(lambda c: self._finish(c, job_id, "completed", result=saved))

    async def _cancel(self, row: dict[str, Any]) -> None:
        job_id = row["id"]
        if row["job_ref"] is None:
            await self.db.run(lambda c: self._finish(c, job_id, "cancelled"))
            return
        config = self.chain(row)[row["chain_index"]]
        ref = JobRef.from_json(row["job_ref"])
        try:
            confirmed = await cancel_job_async(ref, config)
        except TarashException as exc:
            confirmed = False
            self.metrics.upstream_errors.labels(config.provider, type(exc).__name__).inc()
        if not confirmed:
            # Finished before the cancel (kept fetchable), or not confirmed: look again.
            try:
                status = await get_job_status_async(ref, config)
            except TarashException:
                status = None
            if status is not None and status.state == "completed":
                await self.db.run(
                    lambda c: self._write(
                        c,
                        job_id,
                        {
                            "state": "fetching",
                            "cancel_requested": False,
                            "next_poll_at": dbm.now(),
                            "lease_owner": None,
                            "lease_expires_at": None,
                        },
                        ("job.cancel_too_late", {}),
                    )
                )
                return
        timed_out = dbm.loads(row["error"])
        if timed_out is not None and timed_out.get("code") == "timeout":
            timed_out["cancelled_upstream"] = confirmed
            await self.db.run(lambda c: self._finish(c, job_id, "failed", error=timed_out))
            return
        error = (
            None
            if confirmed
            else {
                "code": "cancel_unconfirmed",
                "message": "the provider did not confirm the cancel",
            }
        )
        await self.db.run(lambda c: self._finish(c, job_id, "cancelled", error=error))


# ============================================================================ events


def add_event(conn: Connection, job_id: str, type_: str, data: dict[str, Any]) -> int:
    """Append one event to a job's feed (same transaction as the row change).

    The job's row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN
    IMMEDIATE`` already serialises writers), so two writers never pick the same ``seq``."""
    conn.execute(sa.select(dbm.jobs.c.id).where(dbm.jobs.c.id == job_id).with_for_update())
    seq = conn.execute(
        sa.select(sa.func.coalesce(sa.func.max(dbm.job_events.c.seq), 0)).where(
            dbm.job_events.c.job_id == job_id
        )
    ).scalar_one()
    seq = int(seq) + 1
    conn.execute(
        dbm.job_events.insert().values(
            job_id=job_id, seq=seq, type=type_, data=dbm.dumps(data), created_at=dbm.now()
        )
    )
    return seq


def utc_from(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
