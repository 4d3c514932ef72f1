"""``python -m tarash.tarash_gateway.cli`` — the same as the ``tarash`` command."""

from __future__ import annotations

import sys

from tarash.tarash_gateway.cli import main

if __name__ == "__main__":
    sys.exit(main())
