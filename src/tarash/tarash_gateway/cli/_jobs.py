"""``tarash jobs [list | resume | cancel]``: jobs recorded in the SQLite job store."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import EXIT_ERROR, CliError
from tarash.tarash_gateway.cli._options import (
    ConfigOpt,
    DebugOpt,
    JobsDbOpt,
    JsonOpt,
    OutputOpt,
    QuietOpt,
    TimeoutOpt,
)
from tarash.tarash_gateway.cli._runner import (
    guarded,
    jobs_db_choice,
    open_store,
    report_result,
    setup,
)
from tarash.tarash_gateway.cli._settings import (
    JOBS_DB_ENV,
    load_settings,
    mock_forced,
    provider_status,
)

if TYPE_CHECKING:
    from tarash.tarash_gateway.cli._config import CliSettings
    from tarash.tarash_gateway.jobs import JobRecord, JobRef, SQLiteJobStore
    from tarash.tarash_gateway.models import BaseGenerationConfig

__all__ = ["jobs", "jobs_cancel", "jobs_list", "jobs_resume"]


def _store_path(jobs_db: str | None, settings: CliSettings) -> Path:
    path, chosen = jobs_db_choice(jobs_db, settings)
    if chosen and not path.is_file():
        raise CliError(f"job store not found: {path}")
    return path


def _need_store(jobs_db: str | None, settings: CliSettings) -> tuple[SQLiteJobStore, Path]:
    path = _store_path(jobs_db, settings)
    if not path.is_file():
        raise CliError(f"no job store at {path} yet: no job was recorded (see: {JOBS_DB_ENV})")
    return open_store(path), path


def _db_hint(path: Path, jobs_db: str | None, settings: CliSettings) -> str:
    return f" --jobs-db {path}" if jobs_db_choice(jobs_db, settings)[1] else ""


def _find_job(store: SQLiteJobStore, path: Path, ident: str, hint: str) -> JobRecord:
    record = asyncio.run(store.get(ident))
    if record is not None:
        return record
    pending = asyncio.run(store.pending())
    matches = [
        r
        for r in pending
        if r.request_id.startswith(ident)
        or (r.job is not None and r.job.provider_request_id == ident)
        or (r.intent_id is not None and r.intent_id == ident)
    ]
    if not matches:
        raise CliError(f"no job {ident!r} in {path} (see: tarash jobs{hint})")
    if len(matches) > 1:
        raise CliError(f"{ident!r} matches {len(matches)} jobs in {path}; give more of the id")
    return matches[0]


def _job_of(record: JobRecord) -> JobRef:
    """The provider job of a record; a record that is only a submit intent has none."""
    if record.job is not None:
        return record.job
    if record.state == "not_sent":
        raise CliError(
            f"{record.request_id} has no provider job: its submit to {record.provider}/"
            f"{record.model} failed before the provider could accept it ({record.error})",
            EXIT_ERROR,
        )
    raise CliError(
        f"{record.request_id} has no provider job to resume or cancel: the outcome of its "
        f"submit to {record.provider}/{record.model} is unknown (state {record.state}); it "
        "may have been accepted and may bill, and it was not resent — look for it in the "
        "provider's dashboard",
        EXIT_ERROR,
    )


_NOTES = {
    "unknown": "outcome unknown — may have been accepted; not resent",
    "intent": "submit in flight or interrupted: outcome unknown — may have been accepted; "
    "not resent",
    "abandoned": "our wait ended without a confirmed cancel: may still run and bill",
    "cancel_requested": "cancel sent, not confirmed",
    "result_pending": "finished upstream; result not fetched yet",
}
"""What each pending state means for the user (the listing's Note column)."""


def _age(since: datetime, now: datetime) -> str:
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def _job_config(job: JobRef, settings: CliSettings, timeout: float | None) -> BaseGenerationConfig:
    from tarash.tarash_gateway.cli._select import CONFIG_TYPES

    config_type = CONFIG_TYPES[job.operation]
    data: dict[str, Any] = {"provider": job.provider, "model": job.model}
    if job.base_url:
        data["base_url"] = job.base_url
    configured = settings.provider_settings(job.provider)
    status = provider_status(job.provider, settings)
    if configured.api_key is not None and not (status.key_source or "").startswith("$"):
        data["api_key"] = configured.api_key
    if timeout is not None:
        data["timeout"] = timeout
        data["max_poll_attempts"] = max(120, math.ceil(timeout / 0.25))
    return config_type.model_validate(data)


def _list_jobs(out: Output, jobs_db: str | None, config: str | None) -> None:
    setup(out)
    settings = load_settings(config, warn=out.warning)
    path = _store_path(jobs_db, settings)
    records = asyncio.run(open_store(path).pending()) if path.is_file() else []
    now = datetime.now(UTC)
    if out.json_mode:
        rows = [
            {
                "request_id": r.request_id,
                "operation": r.operation,
                "provider": r.provider,
                "model": r.model,
                "provider_request_id": r.job.provider_request_id if r.job else None,
                "intent_id": r.intent_id,
                "payload_hash": r.intent.payload_hash if r.intent else None,
                "state": r.state,
                "note": _NOTES.get(r.state),
                "error": r.error,
                "submitted_at": r.submitted_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
                "age_seconds": round((now - r.submitted_at).total_seconds(), 3),
            }
            for r in records
        ]
        out.raw(json.dumps({"jobs_db": str(path), "pending": rows}, indent=2))
        return
    if not records:
        out.result_line(Text(f"no pending jobs in {path}", style="dim"))
        return
    from rich.table import Table

    table = Table(title=f"Pending jobs in {path}", title_justify="left", header_style="bold")
    for column in ("Request id", "Operation", "Provider/model", "State", "Age", "Note"):
        table.add_column(column)
    for r in records:
        note = _NOTES.get(r.state, "")
        table.add_row(
            Text(r.request_id, style="bold"),
            r.operation,
            Text(f"{r.provider}/{r.model}"),
            Text(r.state, style="bold yellow" if r.state in ("unknown", "intent") else ""),
            _age(r.submitted_at, now),
            Text(note, style="yellow" if r.job is None else "dim"),
        )
    out.out.print(table)


def jobs(
    ctx: typer.Context,
    jobs_db: JobsDbOpt = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Without a subcommand: list the jobs that were accepted and never finished."""
    if ctx.invoked_subcommand is not None:
        return
    out = Output(json_mode=json_out)
    guarded(out, None, lambda: _list_jobs(out, jobs_db, config))


def jobs_list(
    jobs_db: JobsDbOpt = None, json_out: JsonOpt = False, config: ConfigOpt = None
) -> None:
    """List the jobs that were accepted and never finished."""
    out = Output(json_mode=json_out)
    guarded(out, None, lambda: _list_jobs(out, jobs_db, config))


def jobs_resume(
    request_id: Annotated[
        str, typer.Argument(metavar="REQUEST_ID", help="Request id (or a unique prefix).")
    ],
    output: OutputOpt = None,
    timeout: TimeoutOpt = None,
    jobs_db: JobsDbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Wait for an accepted job (from any process) and save its result."""
    out = Output(quiet=quiet, json_mode=json_out, debug=debug)

    def body() -> None:
        from tarash.tarash_gateway.api import wait_for_job
        from tarash.tarash_gateway.cli._select import Selector

        setup(out)
        settings = load_settings(config, warn=out.warning)
        store, path = _need_store(jobs_db, settings)
        job = _job_of(_find_job(store, path, request_id, _db_hint(path, jobs_db, settings)))
        if job.provider != "mock" and not mock_forced():
            Selector(job.operation, settings, out).check(job.provider)
        job_config = _job_config(job, settings, timeout)
        with out.progress(f"{job.provider}/{job.model}") as display:
            response = wait_for_job(job, job_config, display)
        report_result(out, job.operation, response, output)

    guarded(out, None, body)


def jobs_cancel(
    request_id: Annotated[
        str, typer.Argument(metavar="REQUEST_ID", help="Request id (or a unique prefix).")
    ],
    jobs_db: JobsDbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask the provider to cancel an accepted job."""
    out = Output(json_mode=json_out)

    def body() -> None:
        from tarash.tarash_gateway.api import cancel_job

        setup(out)
        settings = load_settings(config, warn=out.warning)
        store, path = _need_store(jobs_db, settings)
        job = _job_of(_find_job(store, path, request_id, _db_hint(path, jobs_db, settings)))
        confirmed = cancel_job(job, _job_config(job, settings, None))
        if confirmed and json_out:
            payload = {"ok": True, "request_id": job.request_id, "cancelled": True}
            out.raw(json.dumps(payload, indent=2))
        elif confirmed:
            out.result_line(
                Text.assemble(("✓ ", "bold green"), f"cancelled {job.request_id} upstream")
            )
        else:  # one error object (--json) or line, from the guard
            after = asyncio.run(store.get(job.request_id))
            if after is not None and after.state == "result_pending":
                raise CliError(
                    f"{job.request_id} had already finished on {job.provider}, so there was "
                    "nothing to cancel (it is paid for); fetch its result with: tarash jobs "
                    f"resume {job.request_id}{_db_hint(path, jobs_db, settings)} -o PATH",
                    EXIT_ERROR,
                    kind="already_finished",
                )
            raise CliError(
                f"{job.provider} did not confirm the cancellation of {job.request_id}", EXIT_ERROR
            )

    guarded(out, None, body)
