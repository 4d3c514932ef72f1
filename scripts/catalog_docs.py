"""Write (or ``--check``) the "Models and lifecycle" section of docs/providers/*.md from
the model catalog (``tarash.tarash_gateway.catalog``). No network.

    python scripts/catalog_docs.py          # rewrite the sections
    python scripts/catalog_docs.py --check  # exit 1 when a doc is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path

from tarash.tarash_gateway.catalog import DOCS_BEGIN, DOCS_END, entries, markdown_table

DOCS = Path(__file__).resolve().parent.parent / "docs" / "providers"
PROVIDERS = (
    "openai",
    "google",
    "runway",
    "xai",
    "stability",
    "elevenlabs",
    "cartesia",
    "hume",
    "sarvam",
)


def render(text: str, provider: str) -> str:
    """``text`` with its generated section replaced (appended when missing)."""
    section = markdown_table(provider)
    if DOCS_BEGIN in text and DOCS_END in text:
        head, _, rest = text.partition(DOCS_BEGIN)
        _, _, tail = rest.partition(DOCS_END)
        return head + section + tail
    return text.rstrip("\n") + "\n\n" + section + "\n"


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for provider in PROVIDERS:
        if not entries(provider):
            continue
        path = DOCS / f"{provider}.md"
        text = path.read_text(encoding="utf-8")
        new = render(text, provider)
        if new != text:
            stale.append(path.name)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print("out of date (run scripts/catalog_docs.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
