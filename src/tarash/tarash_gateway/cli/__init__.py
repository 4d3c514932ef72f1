"""The ``tarash`` command line: video, images and speech from any provider, from a shell.

``tarash video "a red fox running through snow" -o fox.mp4`` runs offline on the
mock provider until an API key is configured. See ``docs/cli.md`` and
``tarash --help``. Exit codes are listed in :mod:`tarash.tarash_gateway.cli._errors`.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType

import typer

from tarash.tarash_gateway.cli._app import app
from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import EXIT_INTERRUPTED, EXIT_USAGE, Terminated

__all__ = ["app", "main"]

# Typer raises click's exceptions (vendored as typer._click in recent releases): find
# the base class without importing a private module.
_CLICK_ERROR: type[Exception] = next(
    k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException"
)


_TERMINATING = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@contextlib.contextmanager
def _terminate_like_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP raise :class:`Terminated` (a ``KeyboardInterrupt``) in the main
    thread, so the running generation is cancelled exactly as with Ctrl-C: the gateway
    cancels the upstream job or records it as abandoned. Only the first one raises; a
    repeat while that clean-up runs is ignored (Ctrl-C still interrupts it)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = False

    def handler(signum: int, frame: FrameType | None) -> None:
        nonlocal fired
        if not fired:
            fired = True
            raise Terminated(signum)

    previous = {sig: signal.signal(sig, handler) for sig in _TERMINATING}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tarash`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    with _terminate_like_ctrl_c():
        try:
            return _main(argv)
        except Terminated as exc:
            Output().error(f"terminated by {exc.name}")
            return exc.exit_code


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="tarash", standalone_mode=False)
    except _CLICK_ERROR as exc:
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        ctx = getattr(exc, "ctx", None)
        path = getattr(ctx, "command_path", None) or "tarash"
        Output().error(f"{message} (see: {path} --help)")
        code = getattr(exc, "exit_code", EXIT_USAGE)
        return code if isinstance(code, int) else EXIT_USAGE
    except Terminated:
        raise
    except (typer.Abort, KeyboardInterrupt):
        Output().error("interrupted")
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0
