"""``tarash jobs [list | resume | cancel]``: jobs recorded in the SQLite job store."""

import asyncio
import json
import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from tarash.tarash_gateway.api import cancel_job, wait_for_job
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
    jobs_db_path,
    open_store,
    report_result,
    setup,
)
from tarash.tarash_gateway.cli._select import CONFIG_TYPES, Selector
from tarash.tarash_gateway.cli._settings import (
    JOBS_DB_ENV,
    CliSettings,
    load_settings,
    mock_forced,
    provider_status,
)
from tarash.tarash_gateway.jobs import JobRecord, JobRef, SQLiteJobStore
from tarash.tarash_gateway.models import BaseGenerationConfig

__all__ = ["jobs", "jobs_cancel", "jobs_list", "jobs_resume"]


def _need_store(jobs_db: str | None, settings: CliSettings) -> tuple[SQLiteJobStore, Path]:
    path = jobs_db_path(jobs_db, settings)
    if path is None:
        raise CliError(f"no job store configured: pass --jobs-db PATH or set {JOBS_DB_ENV}")
    if not path.is_file():
        raise CliError(f"job store not found: {path}")
    return open_store(path), path


def _find_job(store: SQLiteJobStore, path: Path, ident: str) -> JobRecord:
    record = asyncio.run(store.get(ident))
    if record is not None:
        return record
    pending = asyncio.run(store.pending())
    matches = [
        r
        for r in pending
        if r.job.request_id.startswith(ident) or r.job.provider_request_id == ident
    ]
    if not matches:
        raise CliError(f"no job {ident!r} in {path} (see: tarash jobs --jobs-db {path})")
    if len(matches) > 1:
        raise CliError(f"{ident!r} matches {len(matches)} jobs in {path}; give more of the id")
    return matches[0]


def _job_config(job: JobRef, settings: CliSettings, timeout: float | None) -> BaseGenerationConfig:
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
    store, path = _need_store(jobs_db, settings)
    records = asyncio.run(store.pending())
    if out.json_mode:
        rows = [
            {
                "request_id": r.job.request_id,
                "operation": r.job.operation,
                "provider": r.job.provider,
                "model": r.job.model,
                "provider_request_id": r.job.provider_request_id,
                "state": r.state,
                "submitted_at": r.job.submitted_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
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
    for column in ("Request id", "Operation", "Provider/model", "State", "Submitted (UTC)"):
        table.add_column(column)
    for r in records:
        table.add_row(
            Text(r.job.request_id, style="bold"),
            r.job.operation,
            Text(f"{r.job.provider}/{r.job.model}"),
            r.state,
            r.job.submitted_at.strftime("%Y-%m-%d %H:%M:%S"),
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
        setup(out)
        settings = load_settings(config, warn=out.warning)
        store, path = _need_store(jobs_db, settings)
        job = _find_job(store, path, request_id).job
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
        setup(out)
        settings = load_settings(config, warn=out.warning)
        store, path = _need_store(jobs_db, settings)
        job = _find_job(store, path, request_id).job
        confirmed = cancel_job(job, _job_config(job, settings, None))
        if json_out:
            payload = {"ok": confirmed, "request_id": job.request_id, "cancelled": confirmed}
            out.raw(json.dumps(payload, indent=2))
        elif confirmed:
            out.result_line(
                Text.assemble(("✓ ", "bold green"), f"cancelled {job.request_id} upstream")
            )
        if not confirmed:
            raise CliError(
                f"{job.provider} did not confirm the cancellation of {job.request_id}", EXIT_ERROR
            )

    guarded(out, None, body)
