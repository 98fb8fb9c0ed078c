"""``python -m sessiondb``: the command line (needs the ``cli`` extra)."""

from __future__ import annotations

import sys


def _main() -> None:
    from .errors import MissingDependency

    try:
        from .cli import run
    except MissingDependency as exc:
        sys.exit(f"Error: {exc}")
    run()


if __name__ == "__main__":
    _main()
