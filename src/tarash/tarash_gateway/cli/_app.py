"""The ``tarash`` typer application: every command, registered in help order."""

import sys
from typing import Annotated

import typer

from tarash.tarash_gateway import __version__
from tarash.tarash_gateway.cli._discover import models, providers
from tarash.tarash_gateway.cli._generate import image, sts, tts, video
from tarash.tarash_gateway.cli._jobs import jobs, jobs_cancel, jobs_list, jobs_resume
from tarash.tarash_gateway.cli._voices import voices
from tarash.tarash_gateway.server.cli import keys_create, keys_list, keys_revoke, serve

__all__ = ["app"]

_EPILOG = (
    "Until a provider is named (--provider, TARASH_PROVIDER or the config file) every "
    "command runs offline on the built-in mock provider (real MP4/PNG/WAV files); a key "
    "in the environment alone never selects a paid provider. Keys come from the "
    "providers' usual environment variables (FAL_KEY, OPENAI_API_KEY, ELEVENLABS_API_KEY …) "
    "or ~/.config/tarash/config.toml — see docs/cli.md. --dry-run checks a request "
    "against the real model and calls nothing."
)


app = typer.Typer(
    name="tarash",
    help="Generate video, images and speech with any AI provider — one command, typed errors, "
    "live progress, fallback.",
    epilog=_EPILOG,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


jobs_app = typer.Typer(
    help="Submits and accepted jobs recorded in the SQLite job store (--jobs-db, "
    "$TARASH_JOBS_DB, else ~/.local/share/tarash/jobs.db): list, resume, cancel.",
    no_args_is_help=False,
)
app.add_typer(jobs_app, name="jobs", rich_help_panel="Jobs")


for generate in (video, image, tts, sts):
    app.command(rich_help_panel="Generate")(generate)
for discover in (providers, models, voices):
    app.command(rich_help_panel="Discover")(discover)
keys_app = typer.Typer(help="Virtual keys of `tarash serve` (stored hashed).", no_args_is_help=True)
app.add_typer(keys_app, name="keys", rich_help_panel="Server")
app.command(rich_help_panel="Server")(serve)
keys_app.command("create")(keys_create)
keys_app.command("list")(keys_list)
keys_app.command("revoke")(keys_revoke)
jobs_app.callback(invoke_without_command=True)(jobs)
jobs_app.command("list")(jobs_list)
jobs_app.command("resume")(jobs_resume)
jobs_app.command("cancel")(jobs_cancel)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"tarash-gateway {__version__}\n")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Generate video, images and speech with any AI provider."""
