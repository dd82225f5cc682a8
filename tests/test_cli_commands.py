"""The ``nongan`` dispatcher registers commands lazily: its table says what each module
registers, ``nongan --help`` imports none of them, and a command imports only its own module.
(How long ``nongan --help`` takes is measured, not asserted: docs/PERFORMANCE.md.)"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys

from nongan.cli import COMMAND_MODULES, COMMANDS, build_parser, command_named

HEAVY = ("numpy", "cv2", "sqlalchemy", "fastapi", "pydantic", "cryptography", "paho")


def _registered(module: str) -> list[tuple[str, str | None]]:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(module).register(subparsers)
    return [(action.dest, action.help) for action in subparsers._choices_actions]


def test_the_table_says_what_each_module_registers():
    for module in COMMAND_MODULES:
        listed = [(name, c.help) for name, c in COMMANDS.items() if c.module == module]
        assert _registered(module) == listed, module


def test_the_whole_command_line_still_builds():
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(subparsers.choices) == list(COMMANDS)


def _loaded_after(code: str) -> dict[str, bool]:
    probe = (f"import sys\n{code}\n"
             f"import json\nprint(json.dumps({{m: m in sys.modules for m in "
             f"{[*HEAVY, *COMMAND_MODULES]!r}}}))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    return json.loads(out.splitlines()[-1])


def test_help_imports_no_command_module_and_nothing_heavy():
    loaded = _loaded_after("from nongan.cli import parser_for\n"
                           "text = parser_for([]).format_help()\n"
                           "assert 'doctor' in text and 'bridge' in text, text")
    assert [m for m, present in loaded.items() if present] == []


def test_a_command_imports_its_own_module_only():
    loaded = _loaded_after("from nongan.cli import parser_for\n"
                           "parser_for(['places']).parse_args(['places', 'show', '220122'])")
    assert loaded["protocol.places.cli"]
    others = [m for m in COMMAND_MODULES if m != "protocol.places.cli" and loaded[m]]
    assert others == []


def test_the_command_is_the_first_word_that_is_not_an_option():
    assert command_named(["-v", "--verbose", "doctor", "--json"]) == "doctor"
    assert command_named(["--help"]) is None
    assert command_named([]) is None
