#!/usr/bin/env python3
"""Rebuild (or check) the dated provider-schema snapshots under ``tests/data/schemas/``.

The snapshots hold the facts our field mappings are tested against — endpoint ids,
input field names, types, enums, defaults and ranges — taken from the providers' own
machine-readable sources, never from our code:

fal (``tests/data/schemas/fal.json``)
    * endpoint ids, field names, TS types, enums, required flags and defaults from fal's
      generated endpoint types ``libs/client/src/types/endpoints.ts`` in ``fal-ai/fal-js``
      (``EndpointTypeMap``; fal regenerates it from its per-endpoint OpenAPI);
    * numeric ranges / item counts from fal's per-endpoint OpenAPI
      (``https://fal.ai/api/openapi/queue/openapi.json?endpoint_id=<id>``) when online, or,
      offline, from the zod schemas fal-js generates from that OpenAPI
      (``libs/types/src/*/zod.gen.ts``, ``@hey-api/openapi-ts``) in a local clone.

Replicate (``tests/data/schemas/replicate.json``)
    * each mapped model's latest version id and its ``openapi_schema`` ``Input`` from
      ``GET https://api.replicate.com/v1/models/{owner}/{name}`` (needs
      ``REPLICATE_API_TOKEN``). Models that cannot be fetched keep their stored entry.

Usage::

    python scripts/refresh_schemas.py fal                     # online: GitHub raw + fal OpenAPI
    python scripts/refresh_schemas.py fal --fal-git DIR \\
        --types-ref main --zod-ref <sha>                      # offline: a local fal-js clone
    python scripts/refresh_schemas.py replicate               # online, REPLICATE_API_TOKEN
    python scripts/refresh_schemas.py fal --check             # report differences, write nothing
    python scripts/refresh_schemas.py fal --fal-git DIR --check --record   # ... and log the check

``--check`` exits 1 when the fresh facts differ from the stored snapshot and prints
which endpoint ids appeared or disappeared and which fields / enums / ranges changed.
``--record`` (with ``--check``) appends that outcome — date, the source commit it was
compared against, the number of differences and the first of them — to the stored
snapshot's ``fresh_checks`` list without touching its facts; a refresh keeps the list and
appends its own entry, so the snapshot says when it was last compared with what.
Never run from the test suite: it reads the network (bounded: one attempt per URL,
20 s timeout each, at most ``--max-requests`` requests).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "schemas"
FAL_REPO = "fal-ai/fal-js"
FAL_TYPES_PATH = "libs/client/src/types/endpoints.ts"
FAL_ZOD_CATEGORIES = ("video", "image")
FAL_OPENAPI = "https://fal.ai/api/openapi/queue/openapi.json?endpoint_id={}"
FAL_MODELS = "https://api.fal.ai/v1/models"
FAL_ALL_CATEGORIES = (
    "3d",
    "audio",
    "image",
    "json",
    "llm",
    "speech",
    "text",
    "training",
    "unknown",
    "video",
    "vision",
)
REPLICATE_API = "https://api.replicate.com/v1/models/{}"
TIMEOUT = 20.0

Field = dict[str, Any]
Schema = dict[str, Field]


# =========================================================================== TS endpoint types


def _split_top(text: str, sep: str) -> list[str]:
    """Split ``text`` on ``sep`` outside brackets and string literals."""
    parts: list[str] = []
    depth = 0
    quote: str | None = None
    start = 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i += len(sep)
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


_TYPE_DECL = re.compile(r"^export type (\w+) =\s*(.*?);\n(?=export |\Z)", re.S | re.M)
_FIELD_START = re.compile(r"^  (\"[^\"]+\"|[A-Za-z_$][\w$]*)(\??):")
_DEFAULT = re.compile(r"Default value: `(.*?)`", re.S)


def _balanced(text: str) -> bool:
    return _depth(text) == 0


def _depth(text: str) -> int:
    depth = 0
    quote: str | None = None
    for ch in text:
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
    return depth


def _literal(text: str) -> Any:
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


class TsTypes:
    """The object types and aliases of a generated ``endpoints.ts``."""

    def __init__(self, source: str) -> None:
        self.decls: dict[str, str] = {m.group(1): m.group(2) for m in _TYPE_DECL.finditer(source)}
        self.endpoints: dict[str, str] = {}
        body = self.decls.get("EndpointTypeMap", "")
        for m in re.finditer(r'"([^"]+)":\s*\{\s*input:\s*(\w+);', body):
            self.endpoints[m.group(1)] = m.group(2)

    def resolve(self, name: str, seen: frozenset[str] = frozenset()) -> str | None:
        """Follow aliases to an object body ``{...}`` (or ``None``)."""
        decl = self.decls.get(name)
        if decl is None or name in seen:
            return None
        decl = decl.strip()
        if decl.startswith("{"):
            return decl
        if re.fullmatch(r"\w+", decl):
            return self.resolve(decl, seen | {name})
        return None

    def fields(self, name: str) -> Schema:
        body = self.resolve(name)
        if body is None:
            return {}
        out: Schema = {}
        doc: list[str] = []
        current: list[str] | None = None
        in_doc = False
        for line in body.splitlines()[1:]:
            if current is not None:
                current.append(line)
            elif in_doc or line.startswith("  /**"):
                in_doc = "*/" not in line
                doc.append(line)
                continue
            else:
                m = _FIELD_START.match(line)
                if not m:
                    continue
                current = [line]
            text = "\n".join(current)
            if text.rstrip().endswith(";") and _balanced(text):
                m = _FIELD_START.match(text)
                assert m is not None
                field = self.type_info(text[m.end() :].rstrip().rstrip(";"))
                field["required"] = not m.group(2)
                default = _DEFAULT.search(" ".join(doc))
                if default:
                    field["default"] = _literal(default.group(1))
                out[m.group(1).strip('"')] = field
                current, doc = None, []
        return dict(sorted(out.items()))

    def type_info(self, text: str, depth: int = 0) -> Field:
        kinds: set[str] = set()
        literals: list[Any] = []
        info: Field = {}
        for part in _split_top(text.strip().lstrip("|").strip(), "|"):
            part = part.strip()
            if part.startswith(('"', "'")) or re.fullmatch(r"-?\d+(\.\d+)?|true|false", part):
                value = _literal(part.replace("'", '"'))
                literals.append(value)
                kinds.add(_json_kind(value))
            elif part in ("string", "number", "boolean", "null"):
                kinds.add(part)
            elif part in ("Blob", "File"):
                kinds.add("file")
            elif part in ("unknown", "any"):
                kinds.add("any")
            elif part.startswith("Array<") and part.endswith(">"):
                kinds.add("array")
                if depth < 2:
                    info["items"] = self.type_info(part[6:-1], depth + 1)
            elif part.endswith("[]"):
                kinds.add("array")
                if depth < 2:
                    info["items"] = self.type_info(part[:-2].strip("()"), depth + 1)
            elif part.startswith(("{", "Record<")):
                kinds.add("object")
            elif re.fullmatch(r"\w+", part):
                kinds.add("object" if self.resolve(part) is not None else "ref")
            else:
                kinds.add("any")
        if "file" in kinds:
            kinds.discard("string")
        info = {"type": "|".join(sorted(kinds)), **info}
        if literals:
            info["enum"] = literals
        return info


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "string"


# =========================================================================== zod ranges


def _chain(expr: str) -> list[tuple[str, str]]:
    """Top-level ``.method(args)`` calls of a zod expression, in order."""
    calls: list[tuple[str, str]] = []
    depth = 0
    quote: str | None = None
    i = 0
    while i < len(expr):
        ch = expr[i]
        if quote:
            if ch == "\\":
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'`":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "." and depth == 0:
            m = re.match(r"\.(\w+)\(", expr[i:])
            if m:
                start = i + m.end()
                level, j = 1, start
                q: str | None = None
                while j < len(expr) and level:
                    c = expr[j]
                    if q:
                        if c == "\\":
                            j += 1
                        elif c == q:
                            q = None
                    elif c in "\"'`":
                        q = c
                    elif c in "([{":
                        level += 1
                    elif c in ")]}":
                        level -= 1
                    j += 1
                calls.append((m.group(1), expr[start : j - 1]))
                i = j
                continue
        i += 1
    return calls


def zod_field_ranges(expr: str) -> Field:
    """Ranges of one zod field: ``minimum``/``maximum``, ``min/max_items``, ``integer``."""
    calls = _chain(expr.strip())
    if not calls:
        return {}
    out: Field = {}
    base, arg = calls[0]
    if base == "optional":
        out.update(zod_field_ranges(arg))
    elif base == "union":
        members = _split_top(arg.strip().strip("[]"), ",")
        for member in members:
            if not member.startswith(("z.unknown", "z.null")):
                out.update(zod_field_ranges(member))
    if base == "int":
        out["integer"] = True
    numeric = base in ("int", "number")
    for name, value in calls[1:]:
        try:
            number = float(value)
        except ValueError:
            continue
        number_out: float | int = int(number) if number.is_integer() else number
        if name in ("gte", "gt", "lte", "lt") and numeric:
            key = "minimum" if name in ("gte", "gt") else "maximum"
            out["exclusive_" + key if name in ("gt", "lt") else key] = number_out
        elif name in ("min", "max") and base == "array":
            out["min_items" if name == "min" else "max_items"] = number_out
    return out


_ZOD_OBJECT = re.compile(r"^export const (z\w+) = z\.object\(\{\n(.*?)\n\}\);", re.S | re.M)
_ZOD_FIELD = re.compile(r"^  (\"[^\"]+\"|[A-Za-z_$][\w$]*): ", re.M)
_ZOD_ENDPOINT = re.compile(r'endpoint: z\.literal\("([^"]+)"\),\s*input: (z\w+),')


def zod_ranges(zod_source: str, endpoint_schema_source: str) -> dict[str, Schema]:
    """``{endpoint_id: {field: ranges}}`` from ``zod.gen.ts`` + ``endpoint-schema.ts``."""
    objects: dict[str, Schema] = {}
    for m in _ZOD_OBJECT.finditer(zod_source):
        body = m.group(2)
        starts = list(_ZOD_FIELD.finditer(body))
        fields: Schema = {}
        for k, fm in enumerate(starts):
            end = starts[k + 1].start() if k + 1 < len(starts) else len(body)
            expr = body[fm.end() : end].rstrip().rstrip(",")
            ranges = zod_field_ranges(expr)
            if ranges:
                fields[fm.group(1).strip('"')] = ranges
        objects[m.group(1)] = fields
    return {
        endpoint: objects[const]
        for endpoint, const in _ZOD_ENDPOINT.findall(endpoint_schema_source)
        if const in objects
    }


# =========================================================================== OpenAPI


def _deref(doc: dict[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        path = node["$ref"].lstrip("#/").split("/")
        target: Any = doc
        for key in path:
            target = target.get(key, {}) if isinstance(target, dict) else {}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


def openapi_field(doc: dict[str, Any], prop: Any) -> Field:
    """One JSON-schema property → the snapshot's field facts."""
    prop = _deref(doc, prop)
    for key in ("allOf", "anyOf", "oneOf"):
        if isinstance(prop, dict) and prop.get(key):
            merged: Field = {"type": set(), "enum": []}
            for sub in prop[key]:
                part = openapi_field(doc, sub)
                merged["type"].update(str(part.get("type", "any")).split("|"))
                merged["enum"].extend(part.get("enum", []))
                for bound in ("minimum", "maximum", "min_items", "max_items", "items", "integer"):
                    if bound in part:
                        merged[bound] = part[bound]
            out = {k: v for k, v in prop.items() if k not in (key,)}
            base = openapi_field(doc, out) if out.get("type") or out.get("enum") else {}
            result: Field = {**merged, **{k: v for k, v in base.items() if k != "type"}}
            result["type"] = "|".join(
                sorted(merged["type"] | set(base.get("type", "").split("|")) - {""})
            )
            if not result["enum"]:
                del result["enum"]
            if "default" in prop:
                result["default"] = prop["default"]
            return result
    if not isinstance(prop, dict):
        return {"type": "any"}
    kind = prop.get("type", "any")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    if "integer" in kinds:
        kinds = (kinds - {"integer"}) | {"number"}
    if prop.get("format") == "uri" and "string" in kinds:
        kinds = (kinds - {"string"}) | {"file"}
    out = {"type": "|".join(sorted(kinds))}
    if kind == "integer" or (isinstance(kind, list) and "integer" in kind):
        out["integer"] = True
    if "enum" in prop:
        out["enum"] = list(prop["enum"])
    for src, dst in (
        ("minimum", "minimum"),
        ("maximum", "maximum"),
        ("exclusiveMinimum", "exclusive_minimum"),
        ("exclusiveMaximum", "exclusive_maximum"),
        ("minItems", "min_items"),
        ("maxItems", "max_items"),
    ):
        if isinstance(prop.get(src), int | float) and not isinstance(prop.get(src), bool):
            out[dst] = prop[src]
    if "default" in prop:
        out["default"] = prop["default"]
    if "items" in prop and "array" in kinds:
        out["items"] = openapi_field(doc, prop["items"])
    return out


def openapi_input_schema(doc: dict[str, Any], schema: Any) -> Schema:
    schema = _deref(doc, schema)
    required = set(schema.get("required", []))
    out: Schema = {}
    for name, prop in (schema.get("properties") or {}).items():
        field = openapi_field(doc, prop)
        field["required"] = name in required
        out[name] = field
    return dict(sorted(out.items()))


def fal_openapi_input(doc: dict[str, Any]) -> Schema:
    """The input schema of fal's queue OpenAPI document (the POST body of the endpoint)."""
    for path, methods in (doc.get("paths") or {}).items():
        post = methods.get("post") if isinstance(methods, dict) else None
        if not post or path.endswith(("/status", "/cancel")):
            continue
        body = post.get("requestBody", {}).get("content", {}).get("application/json", {})
        if body.get("schema"):
            return openapi_input_schema(doc, body["schema"])
    return {}


# =========================================================================== fetching


class Fetcher:
    """Bounded HTTP GETs: one attempt each, a timeout, a request budget."""

    def __init__(self, max_requests: int) -> None:
        self.left = max_requests

    def get(self, url: str, headers: dict[str, str] | None = None) -> bytes:
        if not url.startswith("https://"):
            raise ValueError(f"refusing non-https URL {url}")
        if self.left <= 0:
            raise RuntimeError("request budget used up (raise --max-requests)")
        self.left -= 1
        request = urllib.request.Request(  # noqa: S310 - https only, checked above
            url, headers={"User-Agent": "tarash-refresh-schemas", **(headers or {})}
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            data: bytes = response.read()
            return data

    def json(self, url: str, headers: dict[str, str] | None = None) -> Any:
        return json.loads(self.get(url, headers))


def _git_show(repo: Path, ref: str, path: str) -> str:
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", "-C", str(repo), "show", f"{ref}:{path}"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _git_commit(repo: Path, ref: str) -> tuple[str, str]:
    out = subprocess.run(  # noqa: S603 - fixed argv, no shell
        ["git", "-C", str(repo), "log", "-1", "--format=%H %cI", ref],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return out[0], out[1][:10]


# =========================================================================== fal snapshot


def _families(mapped: Iterable[str]) -> set[str]:
    """``owner/alias`` families of the mapped endpoints (their siblings get full detail)."""
    out = set()
    for endpoint in mapped:
        parts = endpoint.split("/")
        out.add("/".join(parts[:3] if parts[0] == "fal-ai" and len(parts) > 2 else parts[:2]))
    return out


def _in_family(endpoint: str, families: set[str]) -> bool:
    return any(endpoint == f or endpoint.startswith(f + "/") for f in families)


def _mapped_fal_ids() -> list[str]:
    sys.path.insert(0, str(ROOT / "src"))
    from tarash.tarash_gateway.providers.fal.field_mappings import MODEL_MAPPINGS
    from tarash.tarash_gateway.providers.fal.tts import TTS_MODELS

    return sorted({*MODEL_MAPPINGS, *TTS_MODELS})


def build_fal_snapshot(
    types_source: str,
    types_origin: dict[str, Any],
    ranges: dict[str, Schema],
    ranges_origin: dict[str, Any],
    mapped: Iterable[str],
) -> dict[str, Any]:
    ts = TsTypes(types_source)
    families = _families(mapped)
    endpoints: dict[str, Any] = {}
    for endpoint, input_name in sorted(ts.endpoints.items()):
        if not _in_family(endpoint, families):
            continue
        fields = ts.fields(input_name)
        for name, bounds in ranges.get(endpoint, {}).items():
            if name in fields:
                fields[name].update(bounds)
        endpoints[endpoint] = {"input": input_name, "fields": fields}
    return {
        "provider": "fal",
        "taken": dt.date.today().isoformat(),
        "sources": {"endpoint_types": types_origin, "ranges": ranges_origin},
        "note": (
            "endpoint_ids: every id of fal's generated EndpointTypeMap. endpoints: the input "
            "schema of every endpoint in the owner/alias families we map (names, types, enums, "
            "required, defaults from the TS types; minimum/maximum/max_items/integer from the "
            "ranges source where it lists the endpoint)."
        ),
        "endpoint_count": len(ts.endpoints),
        "endpoint_ids": sorted(ts.endpoints),
        "endpoints": endpoints,
    }


def fal_from_git(
    repo: Path, types_ref: str, zod_ref: str | None, previous_ref: str | None = None
) -> dict[str, Any]:
    commit, date = _git_commit(repo, types_ref)
    types_origin = {"repo": FAL_REPO, "path": FAL_TYPES_PATH, "commit": commit, "commit_date": date}
    ranges: dict[str, Schema] = {}
    ranges_origin: dict[str, Any] = {"note": "none"}
    openapi_ids: set[str] = set()
    if zod_ref:
        zcommit, zdate = _git_commit(repo, zod_ref)
        for category in FAL_ZOD_CATEGORIES:
            base = f"libs/types/src/{category}"
            ranges.update(
                zod_ranges(
                    _git_show(repo, zcommit, f"{base}/zod.gen.ts"),
                    _git_show(repo, zcommit, f"{base}/endpoint-schema.ts"),
                )
            )
        for category in FAL_ALL_CATEGORIES:
            try:
                text = _git_show(repo, zcommit, f"libs/types/src/{category}/endpoint-schema.ts")
            except subprocess.CalledProcessError:
                continue
            openapi_ids.update(re.findall(r'endpoint: z\.literal\("([^"]+)"\)', text))
        ranges_origin = {
            "repo": FAL_REPO,
            "paths": [f"libs/types/src/{c}/zod.gen.ts" for c in FAL_ZOD_CATEGORIES],
            "commit": zcommit,
            "commit_date": zdate,
            "note": "zod schemas generated by @hey-api/openapi-ts from fal's per-endpoint OpenAPI",
            "endpoints_listed": len(ranges),
        }
    snapshot = build_fal_snapshot(
        _git_show(repo, commit, FAL_TYPES_PATH),
        types_origin,
        ranges,
        ranges_origin,
        _mapped_fal_ids(),
    )
    if zod_ref:
        snapshot["listed_elsewhere"] = {
            "note": "informational, not accepted: ids the OpenAPI-derived types at the ranges "
            "commit list but the latest endpoints.ts does not (fal's generated lists come and "
            "go; refresh online with FAL_KEY to read fal's active-model list)",
            "commit": ranges_origin["commit"],
            "ids": sorted(openapi_ids - set(snapshot["endpoint_ids"])),
        }
    if previous_ref:
        pcommit, pdate = _git_commit(repo, previous_ref)
        before = set(TsTypes(_git_show(repo, pcommit, FAL_TYPES_PATH)).endpoints)
        snapshot["dropped"] = {
            "note": "ids in the previous generated list that the latest list no longer has "
            "(fal generates the list from its active models)",
            "previous": {
                "repo": FAL_REPO,
                "path": FAL_TYPES_PATH,
                "commit": pcommit,
                "commit_date": pdate,
            },
            "ids": sorted(before - set(snapshot["endpoint_ids"])),
        }
    return snapshot


def fal_online(fetcher: Fetcher) -> dict[str, Any]:
    head = fetcher.json(f"https://api.github.com/repos/{FAL_REPO}/commits/main")
    commit = head["sha"]
    date = head["commit"]["committer"]["date"][:10]
    source = fetcher.get(f"https://raw.githubusercontent.com/{FAL_REPO}/{commit}/{FAL_TYPES_PATH}")
    types_source = source.decode("utf-8")
    mapped = _mapped_fal_ids()
    families = _families(mapped)
    ranges: dict[str, Schema] = {}
    failed: list[str] = []
    for endpoint in sorted(TsTypes(types_source).endpoints):
        if not _in_family(endpoint, families):
            continue
        try:
            doc = fetcher.json(FAL_OPENAPI.format(urllib.parse.quote(endpoint, safe="")))
        except Exception as exc:  # a missing document keeps the TS facts only
            failed.append(f"{endpoint}: {exc}")
            continue
        ranges[endpoint] = {
            name: {k: v for k, v in field.items() if k in _RANGE_KEYS}
            for name, field in fal_openapi_input(doc).items()
        }
    for line in failed:
        print(f"warning: no OpenAPI for {line}", file=sys.stderr)
    snapshot = build_fal_snapshot(
        types_source,
        {"repo": FAL_REPO, "path": FAL_TYPES_PATH, "commit": commit, "commit_date": date},
        ranges,
        {"url": FAL_OPENAPI.format("<endpoint_id>"), "fetched": dt.date.today().isoformat()},
        mapped,
    )
    key = os.environ.get("FAL_KEY")
    if key:
        snapshot["active_models"] = {
            "note": "fal's own list of active models (the ids fal-js generates its types from); "
            "an id here counts as listed even when endpoints.ts lacks it",
            "url": FAL_MODELS,
            "fetched": dt.date.today().isoformat(),
            "ids": fal_active_ids(fetcher, key),
        }
    return snapshot


def fal_active_ids(fetcher: Fetcher, key: str, max_pages: int = 100) -> list[str]:
    """Endpoint ids of ``GET https://api.fal.ai/v1/models?status=active`` (paginated, bounded)."""
    ids: set[str] = set()
    cursor: str | None = None
    for _page in range(max_pages):
        query = {"status": "active", **({"cursor": cursor} if cursor else {})}
        data = fetcher.json(
            f"{FAL_MODELS}?{urllib.parse.urlencode(query)}", {"Authorization": f"Key {key}"}
        )
        ids.update(m["endpoint_id"] for m in data.get("models", []) if m.get("endpoint_id"))
        cursor = data.get("next_cursor") if data.get("has_more") else None
        if not cursor:
            return sorted(ids)
    raise RuntimeError(f"more than {max_pages} pages of models; raise max_pages")


_RANGE_KEYS = (
    "minimum",
    "maximum",
    "exclusive_minimum",
    "exclusive_maximum",
    "min_items",
    "max_items",
    "integer",
)


# =========================================================================== Replicate snapshot


def replicate_online(fetcher: Fetcher, stored: dict[str, Any]) -> dict[str, Any]:
    token = os.environ.get("REPLICATE_API_TOKEN")
    if not token:
        raise SystemExit("REPLICATE_API_TOKEN is required to refresh the Replicate snapshot")
    sys.path.insert(0, str(ROOT / "src"))
    from tarash.tarash_gateway.providers.replicate.field_mappings import MODEL_MAPPINGS

    models: dict[str, Any] = dict(stored.get("models", {}))
    today = dt.date.today().isoformat()
    for model in sorted(MODEL_MAPPINGS):
        try:
            info = fetcher.json(REPLICATE_API.format(model), {"Authorization": f"Bearer {token}"})
        except Exception as exc:
            print(f"warning: {model}: {exc} (stored entry kept)", file=sys.stderr)
            continue
        version = info.get("latest_version") or {}
        doc = version.get("openapi_schema") or {}
        schema = doc.get("components", {}).get("schemas", {}).get("Input")
        if not schema:
            print(f"warning: {model}: no openapi_schema Input (stored entry kept)", file=sys.stderr)
            continue
        models[model] = {
            "source": {
                "url": REPLICATE_API.format(model),
                "version": version.get("id"),
                "taken": today,
            },
            "fields": openapi_input_schema(doc, schema),
        }
    return {**stored, "taken": today, "models": dict(sorted(models.items()))}


# =========================================================================== diff / main


def diff(old: dict[str, Any], new: dict[str, Any], key: str) -> Iterator[str]:
    """Human-readable differences between two snapshots' facts."""
    if key == "endpoints":
        old_ids, new_ids = set(old.get("endpoint_ids", [])), set(new.get("endpoint_ids", []))
        for endpoint in sorted(new_ids - old_ids):
            yield f"+ endpoint {endpoint}"
        for endpoint in sorted(old_ids - new_ids):
            yield f"- endpoint {endpoint}"
    old_items, new_items = old.get(key, {}), new.get(key, {})
    for name in sorted(set(old_items) | set(new_items)):
        before = old_items.get(name, {}).get("fields", {})
        after = new_items.get(name, {}).get("fields", {})
        for field in sorted(set(before) | set(after)):
            if before.get(field) != after.get(field):
                yield f"~ {name} {field}: {before.get(field)} -> {after.get(field)}"


def check_record(
    fresh: dict[str, Any], changes: list[str], how: str, today: dt.date | None = None
) -> dict[str, Any]:
    """One ``fresh_checks`` entry: when, against which source, with what outcome."""
    sources = fresh.get("sources", {})
    against = sources.get("endpoint_types") or sources.get("online") or sources
    return {
        "date": (today or dt.datetime.now(dt.UTC).date()).isoformat(),
        "against": against,
        "how": how,
        "differences": len(changes),
        "first_differences": changes[:50],
    }


def write(path: Path, snapshot: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(snapshot, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    path.write_text(text + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("provider", choices=("fal", "replicate"))
    parser.add_argument("--check", action="store_true", help="report differences, write nothing")
    parser.add_argument("--fal-git", type=Path, help="a local fal-ai/fal-js clone (offline)")
    parser.add_argument("--types-ref", default="main", help="ref of endpoints.ts in --fal-git")
    parser.add_argument("--zod-ref", default=None, help="ref of libs/types zod files in --fal-git")
    parser.add_argument("--previous-ref", default=None, help="older endpoints.ts ref (dropped ids)")
    parser.add_argument("--max-requests", type=int, default=400)
    parser.add_argument(
        "--record", action="store_true", help="with --check: log the outcome in fresh_checks"
    )
    args = parser.parse_args(argv)
    if args.record and not args.check:
        parser.error("--record goes with --check (a refresh records itself)")
    path = DATA / f"{args.provider}.json"
    stored = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    fetcher = Fetcher(args.max_requests)
    if args.provider == "fal":
        fresh = (
            fal_from_git(args.fal_git, args.types_ref, args.zod_ref, args.previous_ref)
            if args.fal_git
            else fal_online(fetcher)
        )
        key = "endpoints"
    else:
        fresh = replicate_online(fetcher, stored)
        key = "models"
    changes = list(diff(stored, fresh, key))
    how = "refresh_schemas.py " + " ".join(
        a if not (args.fal_git and a == str(args.fal_git)) else "<local fal-js clone>"
        for a in (argv if argv is not None else sys.argv[1:])
    )
    record = check_record(fresh, changes, how)
    if args.check:
        for line in changes:
            print(line)
        print(f"{len(changes)} difference(s) against {path.relative_to(ROOT)}")
        if args.record:
            stored.setdefault("fresh_checks", []).append(record)
            write(path, stored)
            print(f"recorded the check in {path.relative_to(ROOT)} (fresh_checks)")
        return 1 if changes else 0
    fresh["fresh_checks"] = [*stored.get("fresh_checks", []), record]
    write(path, fresh)
    print(f"wrote {path.relative_to(ROOT)} ({len(changes)} change(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
