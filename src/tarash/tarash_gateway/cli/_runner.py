"""What every command does around its work: set-up, the error guard, results, job store.

The job store, the response models and the result writer are imported when they are
used, so importing the CLI (``tarash --help``) does not load the library.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tarash.tarash_gateway._secrets import redact_text
from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import EXIT_ERROR, CliError, describe_error
from tarash.tarash_gateway.cli._settings import (
    JOBS_DB_ENV,
    default_jobs_db_path,
    register_env_secrets,
)

if TYPE_CHECKING:
    from tarash.tarash_gateway.cli._config import CliSettings
    from tarash.tarash_gateway.jobs import SQLiteJobStore
    from tarash.tarash_gateway.models import BaseGenerationResponse

__all__ = [
    "guarded",
    "jobs_db_choice",
    "jobs_db_path",
    "open_store",
    "report_result",
    "setup",
]


_SDK_LOGGERS = (
    "fal_client",
    "httpx",
    "httpcore",
    "google_genai",
    "openai",
    "replicate",
    "runwayml",
    "elevenlabs",
    "cartesia",
    "hume",
    "sarvamai",
    "xai_sdk",
    "grpc",
)


def setup(out: Output) -> None:
    """Register provider keys with the redactor; with ``--debug``, gateway logs on stderr."""
    register_env_secrets()
    if not out.debug:
        # Provider SDKs log their own retries and fallbacks ("trying backup domain" …) as
        # warnings; without a handler Python prints them raw on stderr. The command
        # reports attempts itself, so they show only with --debug.
        for name in _SDK_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
    if out.debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("tarash.tarash_gateway")
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


def guarded(out: Output, operation: str | None, body: Callable[[], None]) -> None:
    """Run ``body``; turn any failure into one stderr line (+ JSON) and an exit code."""
    try:
        body()
    except typer.Exit:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        report = describe_error(exc, operation)
        if out.debug and not isinstance(exc, CliError | KeyboardInterrupt):
            trace = "".join(traceback.format_exception(exc))
            sys.stderr.write(redact_text(trace))
        out.error(report.message)
        if out.json_mode:
            error: dict[str, Any] = {
                "type": report.kind,
                "message": report.message,
                "exit_code": report.exit_code,
                **report.details,
            }
            from tarash.tarash_gateway.cli import _results

            meta = getattr(exc, "execution_metadata", None)
            payload = {
                "ok": False,
                "operation": operation,
                "error": error,
                "execution_metadata": _results.execution_metadata_json(meta),
            }
            out.raw(json.dumps(payload, indent=2))
        raise typer.Exit(report.exit_code) from None


def report_result(
    out: Output, operation: str, response: BaseGenerationResponse, output: str | None
) -> None:
    """Save the result and tell the user (JSON object, bare paths, or a summary).

    When the files cannot be written, the (paid) result is not lost: the error names
    the request id and the media URLs, and the job stays in the job store as
    ``result_pending`` so ``tarash jobs resume`` fetches it again.
    """
    from tarash.tarash_gateway.cli import _results

    try:
        files = _results.save_outputs(operation, response, output)
    except OSError as exc:
        raise _unsaved(response, exc) from exc
    notes = [w for w in (_results.extension_mismatch(p, operation, response) for p in files) if w]
    if out.json_mode:
        payload = _results.result_json(operation, response, files)
        payload["warnings"] = [*payload.get("warnings", []), *notes]
        out.raw(json.dumps(payload, indent=2))
        return
    if out.quiet:
        for path in files:
            out.raw(str(path))
        return
    for warning in [*response.warnings, *notes]:
        out.warning(warning)
    for line in _results.summary_lines(operation, response, files):
        out.result_line(line)


def _unsaved(response: BaseGenerationResponse, exc: OSError) -> CliError:
    """The error of a generated result that could not be written, keeping it fetchable."""
    import asyncio

    from tarash.tarash_gateway.cli import _results
    from tarash.tarash_gateway.jobs import get_job_store

    where = f" {exc.filename}" if exc.filename else ""
    reason = exc.strerror or str(exc)
    urls = _results.media_locations(response)
    resumable = False
    try:
        store = get_job_store()
        record = asyncio.run(store.get(response.request_id))
        if record is not None and record.job is not None:
            asyncio.run(store.update(record.job, "result_pending", f"not saved: {reason}"))
            resumable = True
    except Exception:  # the store is a convenience here; the message below still helps
        resumable = False
    parts = [f"the result was generated but could not be written to{where}: {reason}"]
    parts.append(f"request {response.request_id}")
    if response.provider_request_id:
        parts.append(f"{response.provider} job {response.provider_request_id}")
    if urls:
        parts.append("media: " + " ".join(urls))
    if resumable:
        parts.append(f"fetch it again with: tarash jobs resume {response.request_id} -o PATH")
    error = CliError(
        "; ".join(parts),
        EXIT_ERROR,
        kind="output_not_written",
        details={
            "request_id": response.request_id,
            "provider": response.provider,
            "model": response.model,
            "provider_request_id": response.provider_request_id,
            "media_urls": urls,
            "resumable": resumable,
        },
    )
    error.execution_metadata = response.execution_metadata  # type: ignore[attr-defined]
    return error


def jobs_db_choice(explicit: str | None, settings: CliSettings) -> tuple[Path, bool]:
    """The job store file and whether the user chose it.

    ``--jobs-db``, else ``$TARASH_JOBS_DB``, else ``jobs_db`` of the config file, else
    the default ``$XDG_DATA_HOME/tarash/jobs.db`` (``~/.local/share/tarash/jobs.db``).
    """
    chosen = explicit or os.environ.get(JOBS_DB_ENV) or settings.jobs_db
    if chosen:
        return Path(chosen).expanduser(), True
    return default_jobs_db_path(), False


def jobs_db_path(explicit: str | None, settings: CliSettings) -> Path:
    """The job store file (see :func:`jobs_db_choice`)."""
    return jobs_db_choice(explicit, settings)[0]


def open_store(path: Path) -> SQLiteJobStore:
    """Open (creating) the SQLite job store and make it the gateway's job store."""
    from tarash.tarash_gateway.jobs import SQLiteJobStore, set_job_store

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = SQLiteJobStore(path)
    except Exception as exc:
        raise CliError(f"cannot open the job store {path}: {exc}", EXIT_ERROR) from exc
    set_job_store(store)
    return store
