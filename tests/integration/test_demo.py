"""The demo's path: embedded broker (or a real Mosquitto), cloud on SQLite, simulated kiosk,
real scoring; every certificate must come back verified through the HTTP API."""

from __future__ import annotations

import io
import re
import threading

import pytest
from rich.console import Console

from nongan.cli import main as nongan_main
from nongan.demo.headless import run_headless
from nongan.demo.stack import DemoOptions, DemoStack
from tests.support import aio


def run_demo(tmp_path, farmers, broker_url=None, contaminated=0, prepare=None, **options):
    out = io.StringIO()
    console = Console(file=out, width=120)

    async def scenario():
        async with DemoStack(DemoOptions(tmp_path / "demo", broker_url=broker_url)) as stack:
            if prepare is not None:
                prepare(stack)
            return await run_headless(stack, farmers, console, seed=3,
                                      contaminated=contaminated, **options)

    status = aio.run(scenario(), timeout=240)
    return status, out.getvalue()


def test_headless_demo_on_the_embedded_broker(tmp_path):
    status, output = run_demo(tmp_path, farmers=2, contaminated=1)
    assert status == 0, output
    assert "all certificates recorded and verified" in output
    assert re.search(r"verified through the API\s*│\s*2\s*│", output), output
    # The contaminated farmer's lot is blocked at the kiosk and reaches the cloud as such.
    assert re.search(r"certificates issued\s*│\s*2\s*│", output), output
    assert re.search(r"blocked lots \(positive\)\s*│\s*1\s*│", output), output
    assert re.search(r"positive events in the cloud\s*│\s*1\s*│", output), output
    assert not [t for t in threading.enumerate() if t.name.startswith("paho")]


def test_the_demo_fails_and_says_why_when_records_stay_unacknowledged(tmp_path):
    """Issue 11: the demo printed "53 records unacknowledged" and then "all certificates
    recorded and verified" with exit status 0. Here the demo's cloud refuses every certified
    lot event (a constraint added to its database): the certificates themselves are stored
    and verified, but the kiosk's ledger stops being acknowledged at the first lot event."""
    from sqlalchemy import text

    def refuse_certified_lots(stack):
        with stack.engine.begin() as conn:
            conn.execute(text("CREATE TRIGGER no_lots BEFORE INSERT ON lots "
                              "WHEN NEW.outcome = 'certified' "
                              "BEGIN SELECT RAISE(ABORT, 'lots refused'); END"))

    status, output = run_demo(tmp_path, farmers=2, prepare=refuse_certified_lots,
                              delivery_timeout_s=5)
    assert status == 1, output
    assert "all certificates recorded and verified" not in output
    assert "records unacknowledged" in output
    assert re.search(r"refused by the cloud: #\d+ seq \d+: store_rejected: .*lots refused",
                     output), output
    assert "nongan bridge dead-letters list" in output
    assert re.search(r"records acknowledged by the cloud\s*│\s*\d+ of \d+", output), output


@pytest.mark.mosquitto
def test_headless_demo_on_mosquitto_with_shared_subscription(tmp_path, mosquitto):
    status, output = run_demo(tmp_path, farmers=1, broker_url=mosquitto.url)
    assert status == 0, output


def test_the_command_line_runs_the_demo(tmp_path, capsys):
    status = nongan_main(["demo", "--headless", "--farmers", "1",
                          "--data-dir", str(tmp_path / "d")])
    assert status == 0, capsys.readouterr().out


def test_a_broker_that_does_not_answer_is_one_line_not_a_traceback(tmp_path, capsys):
    status = nongan_main(["demo", "--headless", "--farmers", "1", "--broker",
                          "mqtt://127.0.0.1:1", "--data-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "is a broker running at mqtt://127.0.0.1:1?" in err
    assert "Traceback" not in err
    assert not [t for t in threading.enumerate() if t.name.startswith("paho")]


def test_without_amqtt_the_embedded_broker_says_what_to_install(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "amqtt.broker", None)  # import fails as if not installed
    status = nongan_main(["demo", "--headless", "--data-dir", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.count("\n") == 1 and "needs amqtt" in err and "Traceback" not in err, err


@pytest.mark.parametrize("option", ["--farmers", "--contaminated"])
def test_counts_must_be_whole_numbers_of_zero_or_more(tmp_path, capsys, option):
    for bad, said in (("-1", "negative"), ("two", "not a whole number")):
        with pytest.raises(SystemExit) as exit_:
            nongan_main(["demo", "--headless", option, bad, "--data-dir", str(tmp_path)])
        assert exit_.value.code == 2
        assert said in capsys.readouterr().err


def test_fresh_refuses_to_delete_a_folder_that_is_not_the_demos(tmp_path, capsys):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.md").write_text("years of work")
    status = nongan_main(["demo", "--headless", "--fresh", "--data-dir", str(precious)])
    err = capsys.readouterr().err
    assert status == 1 and "not a demo data folder" in err and err.count("\n") == 1, err
    assert (precious / "chapter1.md").read_text() == "years of work"


def test_fresh_empties_a_demo_folder_before_the_run(tmp_path, capsys):
    data = tmp_path / "d"
    (data / "kiosk").mkdir(parents=True)
    (data / "leftover").write_text("from the last run")
    status = nongan_main(["demo", "--headless", "--farmers", "1", "--contaminated", "0",
                          "--fresh", "--data-dir", str(data)])
    assert status == 0, capsys.readouterr().out
    assert not (data / "leftover").exists()


def test_records_still_unacknowledged_at_the_deadline_are_said(tmp_path, monkeypatch):
    import dataclasses

    from gateway.outbox import Outbox
    from nongan.demo import headless

    real_stats = Outbox.stats
    monkeypatch.setattr(headless, "DELIVERY_TIMEOUT_S", 0.0)
    monkeypatch.setattr(Outbox, "stats",
                        lambda self: dataclasses.replace(real_stats(self), unacked=3))
    _, output = run_demo(tmp_path, farmers=1)
    assert "3 records unacknowledged after 0 s" in output, output
