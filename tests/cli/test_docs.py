"""docs/cli.md is generated from --help: it must be current and name every command."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click

from sessiondb.cli import main

ROOT = Path(__file__).resolve().parents[2]


def load_generator():
    spec = importlib.util.spec_from_file_location(
        "gen_cli_docs", ROOT / "scripts" / "gen_cli_docs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_cli_md_is_up_to_date_with_the_help_text():
    generator = load_generator()
    committed = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert committed == generator.render(), "run: python scripts/gen_cli_docs.py"


def test_every_command_has_a_section_with_its_help_in_docs_cli_md():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## sessiondb (\S+)$", text, flags=re.MULTILINE))
    commands = set(main.commands)
    assert len(commands) >= 17
    assert commands <= sections
    for name, command in main.commands.items():
        assert f"Usage: sessiondb {name} " in text
        assert isinstance(command, click.Command)


def test_docs_explain_shell_completion():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "_SESSIONDB_COMPLETE=bash_source sessiondb" in text
