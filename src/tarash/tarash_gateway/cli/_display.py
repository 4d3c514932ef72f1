"""Terminal output: notices, errors, the live progress display and the result summary.

stdout carries results only (saved paths, the summary, ``--json``); stderr
carries notices, warnings, progress and errors. Every line goes through the
secret redactor. On a terminal, progress is a live rich bar; elsewhere (CI
logs, pipes) it is one plain line per status change.
"""

from __future__ import annotations

import os
import sys
import threading
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, TextIO

from rich.console import Console
from rich.text import Text

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

from tarash.tarash_gateway._secrets import redact_text
from tarash.tarash_gateway.cli._errors import one_line

__all__ = ["Output", "ProgressDisplay"]

ProgressMode = Literal["live", "plain", "off"]


def _console(stream: TextIO, *, stderr: bool) -> Console:
    terminal = stream.isatty()
    width: int | None = None
    if not terminal:
        # Pipes and CI logs: no hard wrapping at 80 columns (tables stay one row per line).
        width = max(int(os.environ.get("COLUMNS") or 0), 200)
    return Console(stderr=stderr, soft_wrap=True, highlight=False, width=width)


class Output:
    """The command's two streams and its verbosity (``quiet`` / ``json`` / ``debug``)."""

    def __init__(self, *, quiet: bool = False, json_mode: bool = False, debug: bool = False):
        self.quiet = quiet
        self.json_mode = json_mode
        self.debug = debug
        self.out = _console(sys.stdout, stderr=False)
        self.err = _console(sys.stderr, stderr=True)

    @property
    def chatty(self) -> bool:
        """Human mode: notices, progress and a summary."""
        return not (self.quiet or self.json_mode)

    def _err_line(self, prefix: str, style: str, message: str) -> None:
        text = Text()
        text.append(prefix, style=style)
        text.append(one_line(message, limit=4000))
        self.err.print(text)

    def notice(self, message: str) -> None:
        """One informational line on stderr (not in ``--quiet``)."""
        if not self.quiet:
            self._err_line("note: ", "bold cyan", message)

    def warning(self, message: str) -> None:
        """One warning line on stderr (not in ``--quiet``)."""
        if not self.quiet:
            self._err_line("warning: ", "bold yellow", message)

    def error(self, message: str) -> None:
        """The single error line (always shown)."""
        self._err_line("error: ", "bold red", message)

    def result_line(self, text: str | Text) -> None:
        """A line of the human summary on stdout."""
        if isinstance(text, str):
            text = Text(redact_text(text))
        self.out.print(text)

    def raw(self, text: str) -> None:
        """Verbatim text on stdout (JSON, paths), redacted."""
        sys.stdout.write(redact_text(text) + "\n")
        sys.stdout.flush()

    def progress(self, label: str) -> ProgressDisplay:
        """The progress display for one generation."""
        if not self.chatty:
            mode: ProgressMode = "off"
        elif self.err.is_terminal:
            mode = "live"
        else:
            mode = "plain"
        return ProgressDisplay(mode, self.err, label, show_logs=self.debug)


class ProgressDisplay:
    """``on_progress`` callback that renders updates (thread-safe; called from the gateway loop).

    Shows status, provider/model, queue position, a percent bar and the elapsed
    time; reports each failed attempt and whether the gateway retries or falls back.
    """

    def __init__(self, mode: ProgressMode, console: Console, label: str, *, show_logs: bool):
        self.mode = mode
        self.console = console
        self.show_logs = show_logs
        self._lock = threading.Lock()
        self._label = label
        self._failed: str | None = None
        self._failed_label: str | None = None
        self._last_plain: tuple[str, str, int | None] | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        if mode == "live":
            from rich.progress import (  # only a terminal needs the live display
                BarColumn,
                Progress,
                SpinnerColumn,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.fields[label]}", markup=False, style="bold"),
                TextColumn("{task.fields[status]}", markup=False, style="cyan"),
                BarColumn(bar_width=30),
                TaskProgressColumn(),
                TimeElapsedColumn(),
                console=console,
                transient=True,
            )
            self._task = self._progress.add_task("", total=None, label=label, status="starting")

    def __enter__(self) -> ProgressDisplay:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def _say(self, text: str, style: str = "") -> None:
        line = Text(one_line(text, limit=2000), style=style)
        if self._progress is not None:
            self._progress.console.print(line)
        else:
            self.console.print(line)

    def __call__(self, update: Any) -> None:
        if self.mode == "off":
            return
        with self._lock:
            self._render(update)

    def _render(self, update: Any) -> None:
        provider = getattr(update, "provider", None)
        model = getattr(update, "model", None)
        label = f"{provider}/{model}" if provider and model else self._label
        status = str(getattr(update, "status", ""))
        if status == "failed":
            # Held back until the next attempt starts: a final failure is reported once,
            # by the error line, and a retried one on a single line with what happens next.
            error = getattr(update, "error", None) or "failed"
            self._failed = f"✗ {label}: {error}"
            self._failed_label = label
            if self._progress is not None and self._task is not None:
                self._progress.update(self._task, status="failed")
            return
        if self._failed is not None:
            if label != self._failed_label:
                then = f"falling back to {label}"
            else:
                attempt = getattr(update, "attempt", None)
                then = f"trying again (attempt {attempt})" if attempt else "trying again"
            self._say(f"{self._failed} → {then}", "yellow")
            self._failed = None
        self._label = label
        percent = getattr(update, "progress_percent", None)
        queue = getattr(update, "queue_position", None)
        text = status
        if status == "queued" and queue is not None:
            text = f"queued, position {queue}"
        if self.show_logs:
            for log in getattr(update, "logs", None) or []:
                self._say(f"  {label}: {log}", "dim")
        if self._progress is not None and self._task is not None:
            fields: dict[str, Any] = {"label": label, "status": text}
            if percent is not None:
                self._progress.update(self._task, total=100, completed=percent, **fields)
            else:
                self._progress.update(self._task, **fields)
            return
        if status == "completed":
            return
        key = (label, text, percent)
        if key == self._last_plain:
            return
        self._last_plain = key
        elapsed = getattr(update, "elapsed_seconds", None)
        stamp = f"[{elapsed:6.1f}s] " if isinstance(elapsed, int | float) else ""
        pct = f" {percent}%" if percent is not None else ""
        self._say(f"{stamp}{label}: {text}{pct}", "dim")
