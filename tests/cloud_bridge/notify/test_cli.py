"""``nongan bridge notify``: contacts, routes and a test message from the command line, and a
worker that refuses an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from nongan.cli import main

from .helpers import notifications


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_contacts_routes_and_a_test_message(store: Engine, database_url: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    db = ("--database-url", database_url)
    status, out, _ = run(capsys, "bridge", "notify", "contact", "set", "--name", "zhang.wei",
                         "--display-name", "张伟", "--email", "zw@county.example",
                         "--phone", "13812345678", *db)
    assert status == 0 and "zh-CN; email zw@county.example, phone 13812345678" in out
    status, _, err = run(capsys, "bridge", "notify", "contact", "set", "--name", "x y",
                         "--email", "nope", *db)
    assert status == 1 and "contact name" in err
    status, out, _ = run(capsys, "bridge", "notify", "route", "add", "--place", "220122",
                         "--to", "zhang.wei", "--kind", "positive", *db)
    assert status == 0 and "positive alerts in 220122 -> zhang.wei at level 0" in out
    status, _, err = run(capsys, "bridge", "notify", "route", "add", "--place", "2201",
                         "--to", "nobody", *db)
    assert status == 1 and "add the contact 'nobody' first" in err
    status, out, _ = run(capsys, "bridge", "notify", "route", "list", *db)
    assert "220122" in out and "zhang.wei" in out
    status, out, _ = run(capsys, "bridge", "notify", "test", "--to", "zhang.wei", *db)
    assert status == 0 and "email zw@county.example pending" in out
    [row] = notifications(store)
    assert (row.template_key, row.recipient, row.channel) == ("test", "zhang.wei", "email")
    status, out, _ = run(capsys, "bridge", "notify", "contact", "disable", "--name",
                         "zhang.wei", *db)
    assert status == 0
    assert "(disabled)" in run(capsys, "bridge", "notify", "contact", "list", *db)[1]


def test_the_worker_refuses_an_unmigrated_database(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "bridge", "notify", "run", "--database-url",
                         f"sqlite:///{tmp_path / 'empty.db'}")
    assert status == 1 and "nongan bridge migrate" in err
