"""``tarash providers`` and ``tarash models``: what is installed, configured and accepted."""

import json
from typing import Annotated, Any

import typer
from rich.text import Text

from tarash.tarash_gateway.api import get_provider_field_mapping
from tarash.tarash_gateway.catalog import entries as catalog_entries
from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import option_for_field
from tarash.tarash_gateway.cli._options import ConfigOpt, JsonOpt
from tarash.tarash_gateway.cli._runner import guarded, setup
from tarash.tarash_gateway.cli._settings import (
    MOCK_ENV,
    OPERATIONS,
    canonical_provider,
    default_config_path,
    load_settings,
    mock_forced,
    provider_status,
)
from tarash.tarash_gateway.providers.field_mappers import describe_field_mappers
from tarash.tarash_gateway.registry import list_providers

__all__ = ["models", "providers"]


def _ops_text(operations: frozenset[str]) -> str:
    return ", ".join(o for o in OPERATIONS if o in operations) or "—"


def providers(
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Providers: operations, SDK installed, API key set (never shown), default models."""
    out = Output(json_mode=json_out)

    def body() -> None:
        setup(out)
        settings = load_settings(config, warn=out.warning)
        statuses = [provider_status(name, settings) for name in list_providers()]
        if json_out:
            rows = [
                {
                    "name": s.name,
                    "available": s.available,
                    "problem": s.problem,
                    "operations": [o for o in OPERATIONS if o in s.operations],
                    "sdk": {
                        "package": s.sdk_package,
                        "installed": s.sdk_installed,
                        "extra": s.extra,
                    },
                    "api_key": {
                        "env": list(s.env_vars),
                        "required": s.requires_key,
                        "set": s.key_source is not None,
                        "source": s.key_source,
                    },
                    "default_models": s.default_models,
                }
                for s in statuses
            ]
            out.raw(json.dumps({"providers": rows, "mock_forced": mock_forced()}, indent=2))
            return
        from rich.table import Table

        table = Table(title="Providers", title_justify="left", header_style="bold")
        for column in ("Provider", "Operations", "SDK", "API key", "Default models"):
            table.add_column(column)
        for s in statuses:
            ops = Text(_ops_text(s.operations))
            if not s.available:
                ops = Text(f"{_ops_text(s.operations)} (unavailable: {s.problem})", style="dim")
            if s.sdk_package is None:
                sdk = Text("built in", style="dim")
            elif s.sdk_installed:
                sdk = Text(f"✓ {s.sdk_package}", style="green")
            else:
                sdk = Text(f"✗ pip install 'tarash-gateway[{s.extra}]'", style="yellow")
            if not s.requires_key:
                key = Text("not needed", style="dim")
            elif s.key_source:
                key = Text(f"✓ {s.key_source}", style="green")
            else:
                key = Text(f"✗ set {' / '.join(s.env_vars) or 'a key'}", style="yellow")
            models = " · ".join(f"{op}: {m}" for op, m in s.default_models.items())
            table.add_row(Text(s.name, style="bold"), ops, sdk, key, Text(models))
        out.out.print(table)
        where = settings.path or default_config_path()
        state = "" if settings.path else " (not found)"
        out.result_line(Text(f"config file: {where}{state}", style="dim"))
        if mock_forced():
            out.result_line(Text(f"{MOCK_ENV} is set: every request runs on the mock"))

    guarded(out, None, body)


def _option_for(row: dict[str, Any]) -> str:
    source = str(row["source_field"])
    accepts = str(row["accepts"])
    if source == "extra_params":
        if accepts.startswith("extra_params."):
            return f"--param {accepts.split('.', 1)[1]}=…"
        return "(fixed)"
    if source == "image_list":
        roles = set(accepts.split("; ", 1)[-1].split("/"))
        if roles == {"last_frame"}:
            return "--last-frame"
        if "first_frame" in roles and roles <= {"first_frame", "reference"}:
            return "--first-frame"
        if len(roles) == 1 and roles <= {"asset", "style"}:
            return f"--image …:{roles.pop()}"
        return "--image"
    return option_for_field(source)


def models(
    provider: Annotated[
        str | None, typer.Argument(metavar="PROVIDER", help="Only this provider.")
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--filter", metavar="TEXT", help="Only models whose id contains TEXT."),
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Models of each provider with the parameters they accept and their ranges."""
    out = Output(json_mode=json_out)

    def body() -> None:
        setup(out)
        settings = load_settings(config, warn=out.warning)
        names = [canonical_provider(provider, option="PROVIDER")] if provider else list_providers()
        result: dict[str, Any] = {}
        for name in names:
            status = provider_status(name, settings)
            registry = get_provider_field_mapping(name) or {}
            entries: dict[str, list[dict[str, Any]]] = {}
            for key in sorted(registry):
                if search and search.lower() not in key.lower():
                    continue
                rows = describe_field_mappers(registry[key])
                entries[key] = [{**row, "option": _option_for(row)} for row in rows]
            catalogued = [
                item.to_data()
                for item in catalog_entries(name)
                if not search or search.lower() in item.model.lower()
            ]
            result[name] = {
                "operations": [o for o in OPERATIONS if o in status.operations],
                "default_models": status.default_models,
                "has_field_mapping": bool(registry),
                "models": entries,
                "catalog": catalogued,
            }
        if json_out:
            out.raw(json.dumps(result, indent=2))
            return
        for name, info in result.items():
            _print_models(out, name, info)

    guarded(out, None, body)


_LIFECYCLE_STYLE = {"active": "green", "deprecated": "yellow", "retired": "red"}


def _lifecycle_text(item: dict[str, Any]) -> Text:
    state = str(item["lifecycle"])
    extra = []
    if item.get("shutdown"):
        extra.append(("" if state == "retired" else "shuts down ") + item["shutdown"])
    if item.get("replacement"):
        extra.append(f"→ {item['replacement']}")
    label = state + (f" ({', '.join(extra)})" if extra else "")
    return Text(label, style=_LIFECYCLE_STYLE.get(state, ""))


def _print_catalog(out: Output, name: str, items: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table(
        title=Text.assemble((name, "bold"), ("  catalog", "dim")),
        title_justify="left",
        header_style="bold",
    )
    for column in ("Model", "Operations", "API", "Lifecycle", "Source (checked)"):
        table.add_column(column)
    for item in items:
        table.add_row(
            Text(str(item["model"]), style="bold"),
            ", ".join(item["operations"]),
            str(item["api"] or "all"),
            _lifecycle_text(item),
            Text(f"{item['source']} ({item['checked']})", style="dim"),
        )
    out.out.print(table)


def _print_models(out: Output, name: str, info: dict[str, Any]) -> None:
    if info.get("catalog"):
        _print_catalog(out, name, info["catalog"])
    lifecycle = {item["model"]: item["lifecycle"] for item in info.get("catalog", [])}
    defaults = " · ".join(f"{op} {m}" for op, m in info["default_models"].items())
    ops = ", ".join(info["operations"]) or "—"
    heading = Text.assemble((name, "bold"), f"  ({ops})", (f"  defaults: {defaults}", "dim"))
    if not info["models"]:
        why = (
            "no models match the filter"
            if info["has_field_mapping"]
            else "no field-mapping registry: the provider validates parameters itself"
        )
        out.result_line(Text.assemble(heading, (f"  — {why}", "dim")))
        return
    from rich.table import Table

    table = Table(title=heading, title_justify="left", header_style="bold", show_lines=False)
    for column in ("Model", "Parameter", "Option", "Required", "Accepts"):
        table.add_column(column)
    for key, rows in info["models"].items():
        table.add_section()
        for i, row in enumerate(rows):
            table.add_row(
                (
                    Text.assemble(
                        (key, "bold"),
                        (
                            f" ({lifecycle[key]})"
                            if lifecycle.get(key, "active") != "active"
                            else "",
                            _LIFECYCLE_STYLE.get(lifecycle.get(key, ""), ""),
                        ),
                    )
                    if i == 0
                    else Text("")
                ),
                Text(str(row["param"])),
                Text(str(row["option"]), style="cyan"),
                "yes" if row["required"] else "",
                Text(str(row["accepts"])),
            )
    out.out.print(table)
