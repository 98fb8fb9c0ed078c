#!/usr/bin/env python3
"""sessiondb benchmarks: one command, its own virtual environment, one report.

    python benchmarks/run.py [--quick] [--only W1,W3] [--postgres URL] [--no-peers]
                             [--markdown FILE]

The first run creates benchmarks/.venv, installs sessiondb from this checkout (editable,
with the postgres extra) and the pinned peers of benchmarks/requirements.txt, then re-runs
itself inside it. ``--quick`` is a smoke run (under two minutes); its numbers are not for
judging speed. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv"
VENV_PYTHON = VENV / "bin" / "python"
REQUIREMENTS = HERE / "requirements.txt"
STAMP = VENV / ".installed"


def ensure_venv() -> None:
    """Create/refresh benchmarks/.venv and re-exec inside it (unless already there)."""
    if Path(sys.prefix).resolve() == VENV.resolve():
        return
    wanted = hashlib.sha256(
        REQUIREMENTS.read_bytes() + (ROOT / "pyproject.toml").read_bytes()
    ).hexdigest()
    if not STAMP.exists() or STAMP.read_text() != wanted:
        print("benchmarks: preparing benchmarks/.venv (first run takes a few minutes)", flush=True)
        if not VENV_PYTHON.exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV_PYTHON), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-e", f"{ROOT}[postgres]"], check=True)
        # Peers one by one: a peer that cannot install is reported and the run goes on.
        for line in REQUIREMENTS.read_text().splitlines():
            requirement = line.split("#", 1)[0].strip()
            if requirement and subprocess.run([*pip, requirement]).returncode != 0:
                print(f"benchmarks: could not install {requirement}; its rows will say so")
        STAMP.write_text(wanted)
    os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(__file__).resolve()), *sys.argv[1:]])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", default="", help="comma-separated workloads, e.g. W1,W3,PG")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SESSIONDB_BENCH_POSTGRES")
        or os.environ.get("SESSIONDB_TEST_POSTGRES"),
        help="PostgreSQL URL for the PG workloads (a throwaway schema is used)",
    )
    parser.add_argument("--no-peers", action="store_true", help="sessiondb and raw SQL only")
    parser.add_argument("--no-venv", action="store_true", help="run in the current interpreter")
    parser.add_argument("--markdown", type=Path, help="also write the report to this file")
    args = parser.parse_args()
    if not args.no_venv:
        ensure_venv()
    sys.path.insert(0, str(HERE))
    from sdbbench.report import run

    only = {w.strip().upper() for w in args.only.split(",") if w.strip()}
    with tempfile.TemporaryDirectory(
        prefix="sessiondb-bench-", dir=os.environ.get("TMPDIR")
    ) as tmp:
        started = time.perf_counter()
        text = run(
            Path(tmp), quick=args.quick, only=only, postgres=args.postgres, peers=not args.no_peers
        )
        print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
