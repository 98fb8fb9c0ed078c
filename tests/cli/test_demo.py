"""The README's `make run`: the demo imports the bundled samples and shows them."""

from __future__ import annotations

import subprocess
import sys


def test_demo_imports_the_samples_and_shows_list_show_and_search(tmp_path):
    db = tmp_path / "demo.db"
    run = [sys.executable, "-m", "sessiondb.demo", "--db", str(db)]
    first = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    for command in ("import", "list", "show", "search"):
        assert f"$ sessiondb --db {db} {command}" in first.stdout
    assert "Traceback" not in first.stderr
    second = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stderr
