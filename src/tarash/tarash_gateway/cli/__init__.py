"""The ``tarash`` command line: video, images and speech from any provider, from a shell.

``tarash video "a red fox running through snow" -o fox.mp4`` runs offline on the
mock provider until a provider is named (``--provider``, ``TARASH_PROVIDER`` or the
config file) — an API key in the environment alone never selects one. See ``docs/cli.md`` and
``tarash --help``. Exit codes are listed in :mod:`tarash.tarash_gateway.cli._errors`.
"""

from __future__ import annotations

import contextlib
import json
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

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


_METAVARS = {"int": "N", "float": "NUMBER", "str": "TEXT", "list[str]": "TEXT"}


def _plain_metavars(command: Any) -> None:
    """Help without ``<bool>`` after flags and with plain value names (``N``, ``TEXT``).

    typer's rich help prints the Python type of an option that has no metavar; a flag
    takes no value, so it gets none, and the others get click's usual names.
    """
    for param in getattr(command, "params", []):
        if getattr(param, "param_type_name", "") == "argument":
            param.display_type_rich = _no_type  # its metavar (PROMPT …) already says it
        elif getattr(param, "is_flag", False) or getattr(param, "count", False):
            param.metavar = ""
        elif param.metavar is None and getattr(param, "param_type_name", "") == "option":
            bare = getattr(param, "bare_type", None)
            name = bare() if callable(bare) else "str"
            param.metavar = _METAVARS.get(name, name.upper())
    get_help_option = getattr(command, "get_help_option", None)
    if callable(get_help_option) and not getattr(command, "_tarash_help_patched", False):

        def help_option(ctx: Any, _get: Any = get_help_option) -> Any:
            option = _get(ctx)
            if option is not None:
                option.metavar = ""
            return option

        command.get_help_option = help_option
        command._tarash_help_patched = True
    for sub in getattr(command, "commands", {}).values():
        _plain_metavars(sub)


def _no_type(ctx: Any) -> None:
    return None


def _main(argv: Sequence[str] | None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        args = ["--help"]
    command = typer.main.get_command(app)
    _plain_metavars(command)
    try:
        result = command.main(args=args, prog_name="tarash", standalone_mode=False)
    except _CLICK_ERROR as exc:
        format_message = getattr(exc, "format_message", None)
        message = format_message() if callable(format_message) else str(exc)
        ctx = getattr(exc, "ctx", None)
        path = getattr(ctx, "command_path", None) or "tarash"
        Output().error(f"{message} (see: {path} --help)")
        code = getattr(exc, "exit_code", EXIT_USAGE)
        code = code if isinstance(code, int) else EXIT_USAGE
        if "--json" in args:  # --json promises one JSON object, even for a bad command line
            error = {"type": "usage", "message": f"{message} (see: {path} --help)"}
            payload = {"ok": False, "operation": None, "error": {**error, "exit_code": code}}
            Output().raw(json.dumps(payload, indent=2))
        return code
    except Terminated:
        raise
    except (typer.Abort, KeyboardInterrupt):
        Output().error("interrupted")
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0
