#!/usr/bin/env python3
"""Render (or check) the model tables of ``docs/providers/fal.md`` from the field mappings.

``python scripts/model_tables.py`` rewrites the ``### Video models`` / ``### Image models``
tables in place; ``--check`` exits 1 when the document differs from the mappings
(``tests/providers/fal/test_schema_conformance.py`` runs the same check).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tarash.tarash_gateway.providers.fal.field_mappings import (  # noqa: E402
    MODEL_MAPPINGS,
    VIDEO_MODEL_KEYS,
)
from tarash.tarash_gateway.providers.field_mappers import FieldMapper  # noqa: E402

FAL_DOC = ROOT / "docs" / "providers" / "fal.md"
HEADER = "| endpoint id | parameters (fal name ← request field: accepted values) |\n|---|---|\n"


def _cell(param: str, mapper: FieldMapper) -> str:
    text = f"`{param}` ← {mapper.source_field}"
    if mapper.spec is not None:
        accepts = "; ".join(mapper.spec.describe().split("; ")[1:])
        if accepts:
            text += f": {accepts}"
    if mapper.required:
        text += " **required**"
    return text


def table(video: bool) -> str:
    rows = []
    for key, mappers in MODEL_MAPPINGS.items():
        if (key in VIDEO_MODEL_KEYS) != video:
            continue
        cells = "<br>".join(
            _cell(p, m)
            for p, m in mappers.items()
            if p != "prompt" and not (m.spec and m.spec.description == "sent as image_size")
        )
        rows.append(f"| `{key}` | {cells} |")
    return HEADER + "\n".join(rows) + "\n"


def render(document: str) -> str:
    for title, video in (("### Video models", True), ("### Image models", False)):
        pattern = re.compile(re.escape(title) + r"\n\n\| endpoint id .*?\n(?=\n)", re.S)
        document, count = pattern.subn(lambda _m, v=video, t=title: f"{t}\n\n{table(v)}", document)
        if count != 1:
            raise SystemExit(f"{FAL_DOC}: no table under {title!r}")
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    current = FAL_DOC.read_text(encoding="utf-8")
    fresh = render(current)
    if args.check:
        if fresh != current:
            print(f"{FAL_DOC.relative_to(ROOT)} is out of date: run scripts/model_tables.py")
            return 1
        return 0
    FAL_DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
