"""``tarash providers`` and ``tarash models``: what is installed, configured and accepted."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.text import Text

from tarash.tarash_gateway.cli._display import Output
from tarash.tarash_gateway.cli._errors import CliError, option_for_field
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
        from tarash.tarash_gateway.registry import list_providers

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

        narrow = _width(out) < 150
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
            if narrow:  # one block per provider: nothing is cut at 80 columns
                out.result_line(Text.assemble((s.name, "bold"), "  ", ops))
                out.result_line(Text.assemble("  SDK: ", sdk))
                out.result_line(Text.assemble("  API key: ", key))
                for op, m in s.default_models.items():
                    out.result_line(Text(f"  default {op}: {m}", style="dim"))
                continue
            table.add_row(Text(s.name, style="bold"), ops, sdk, key, Text(models))
        if not narrow:
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


def _width(out: Output) -> int:
    """The terminal's width (``$COLUMNS`` when piped; 200 when neither says)."""
    if out.out.is_terminal:
        return int(out.out.width)
    return int(os.environ.get("COLUMNS") or 0) or 200


def models(
    provider: Annotated[
        str | None, typer.Argument(metavar="PROVIDER", help="Only this provider.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Argument(metavar="MODEL", help="Show this model's parameters and limits."),
    ] = None,
    search: Annotated[
        str | None,
        typer.Option("--filter", metavar="TEXT", help="Only models whose id contains TEXT."),
    ] = None,
    json_out: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Model ids of each provider (whole, for -m); with MODEL, its parameters and ranges."""
    out = Output(json_mode=json_out)

    def body() -> None:
        from tarash.tarash_gateway.catalog import entries as catalog_entries
        from tarash.tarash_gateway.providers.field_mappers import describe_field_mappers
        from tarash.tarash_gateway.registry import get_provider_field_mapping, list_providers

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
        if model is not None:
            assert provider is not None  # MODEL comes after PROVIDER
            _one_model(out, names[0], model, result[names[0]], json_out)
            return
        if json_out:
            out.raw(json.dumps(result, indent=2))
            return
        width = _width(out)
        for name, info in result.items():
            _print_models(out, name, info, width, detail=provider is not None)

    guarded(out, None, body)


def _model_ids(info: dict[str, Any]) -> list[str]:
    return sorted({*(item["model"] for item in info["catalog"]), *info["models"]})


def _print_models(
    out: Output, name: str, info: dict[str, Any], width: int, *, detail: bool
) -> None:
    """One provider: a heading, then every model id whole (one per line when narrow)."""
    catalog = {item["model"]: item for item in info["catalog"]}
    defaults = " · ".join(f"{op} {m}" for op, m in info["default_models"].items())
    ops = ", ".join(info["operations"]) or "—"
    out.result_line(Text.assemble((name, "bold"), f"  ({ops})"))
    if defaults and 2 + len("defaults: ") + len(defaults) <= width:
        out.result_line(Text(f"  defaults: {defaults}", style="dim"))
    else:
        for op, default in info["default_models"].items():
            out.result_line(Text(f"  default {op}: {default}", style="dim"))
    ids = _model_ids(info)
    if not ids:
        out.result_line(Text("  no models match the filter", style="dim"))
        return
    longest = max(len(i) for i in ids)
    for model_id in ids:
        item = catalog.get(model_id)
        facts = ", ".join(item["operations"]) if item else "video/image (field mapping)"
        if item:
            facts += " · " + _lifecycle_text(item).plain
            if item.get("api"):
                facts += f" · {item['api']} API"
        line = Text("  ")
        line.append(model_id, style="bold")
        if 2 + longest + 2 + len(facts) <= width:
            line.append(" " * (longest - len(model_id) + 2))
            line.append(facts, style=_LIFECYCLE_STYLE.get(item["lifecycle"], "") if item else "")
            out.result_line(line)
        else:  # narrow: the id alone on its line, what it is below it
            out.result_line(line)
            out.result_line(Text(f"      {facts}", style="dim"))
    if detail or len(ids) <= 3:
        out.result_line(Text(f"  parameters of one model: tarash models {name} MODEL", style="dim"))
    out.result_line(Text(""))


def _one_model(
    out: Output, provider: str, model: str, info: dict[str, Any], json_out: bool
) -> None:
    """``tarash models PROVIDER MODEL``: the catalog entry and the parameters it accepts."""
    from tarash.tarash_gateway.catalog import closest, lookup
    from tarash.tarash_gateway.providers.field_mappers import match_model_key

    entry = lookup(provider, model)
    key = match_model_key(model, list(info["models"]))
    if model not in _model_ids(info):  # ids are shown exactly as -m takes them
        entry = key = None
    if entry is None and key is None:
        guess = closest(provider, model)
        hint = f"; did you mean {guess!r}?" if guess else ""
        raise CliError(
            f"{provider} has no model {model!r} in the gateway's catalog{hint} "
            f"(see: tarash models {provider})"
        )
    data = {
        "provider": provider,
        "model": model,
        "catalog": entry.to_data() if entry is not None else None,
        "mapping": key,
        "parameters": info["models"].get(key, []) if key else [],
    }
    if json_out:
        out.raw(json.dumps(data, indent=2))
        return
    width = _width(out)
    out.result_line(Text.assemble((f"{provider}/{model}", "bold")))
    if entry is not None:
        item = data["catalog"]
        out.result_line(
            Text.assemble(
                f"  {', '.join(item['operations'])} · ",
                _lifecycle_text(item),
                (f" · {item['source']} ({item['checked']})", "dim"),
            )
        )
        for limit, value in item["constraints"].items():
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            out.result_line(Text(f"  {limit}: {shown}", style="dim"))
        if item.get("params"):
            params = " ".join(f"--param {p}=…" for p in item["params"])
            out.result_line(Text(f"  provider parameters: {params}", style="dim"))
    rows = data["parameters"]
    if not rows:
        out.result_line(
            Text("  no field mapping: common fields are sent with the provider's names", "dim")
        )
        return
    out.result_line(Text("  parameters (option · field · accepts):"))
    longest = max(len(str(r["option"])) for r in rows)
    for row in rows:
        option = str(row["option"])
        accepts = str(row["accepts"]) + (" · required" if row["required"] else "")
        line = Text("    ")
        line.append(option, style="cyan")
        tail = f"{row['param']} · {accepts}"
        if 4 + longest + 2 + len(tail) <= width:
            line.append(" " * (longest - len(option) + 2) + tail)
            out.result_line(line)
        else:
            out.result_line(line)
            out.result_line(Text(f"        {tail}", style="dim"))


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
