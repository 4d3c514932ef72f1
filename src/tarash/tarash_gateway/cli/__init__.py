"""The ``tarash`` command line: video, images and speech from any provider, from a shell.

``tarash video "a red fox running through snow" -o fox.mp4`` runs offline on the
mock provider until an API key is configured. See ``docs/cli.md`` and
``tarash --help``. Exit codes are listed in :mod:`tarash.tarash_gateway.cli._errors`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from tarash.tarash_gateway.cli._app import app
from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import EXIT_INTERRUPTED, EXIT_USAGE

__all__ = ["app", "main"]

# Typer raises click's exceptions (vendored as typer._click in recent releases): find
# the base class without importing a private module.
_CLICK_ERROR: type[Exception] = next(
    k for k in typer.BadParameter.__mro__ if k.__name__ == "ClickException"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``tarash`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
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
    except (typer.Abort, KeyboardInterrupt):
        Output().error("interrupted")
        return EXIT_INTERRUPTED
    return result if isinstance(result, int) else 0
