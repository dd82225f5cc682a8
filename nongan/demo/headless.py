"""The headless demo: N simulated farmers, then every certificate read back from the cloud.

Farmers go through the kiosk's session API (the same calls the touch screen makes). Prints a
progress bar while they test, waits for the cloud's acknowledgement of every ledger record
(the kiosk may forget nothing before that), fetches each certificate through the cloud's
public HTTP API and compares it with what the kiosk issued, checks that every contaminated
lot reached the cloud as a blocked lot, and ends with a summary table. The exit status is 0
only if every clean lot was certified, recorded and verified, every contaminated lot was
blocked (no certificate) and its positive event recorded in the cloud, and the cloud
acknowledged every ledger record the kiosk made; otherwise it is 1 and the output says what is
missing (for records left unacknowledged: what the cloud refused, from its dead letters).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.session import Step
from protocol import Certificate

from .farmers import FarmerOutcome, plan_farmers, test_lot
from .lots_in_cloud import lot_outcomes_in_cloud
from .setup import prepare
from .stack import DemoStack

DELIVERY_TIMEOUT_S = 120.0


@dataclass
class Check:
    certificate: Certificate
    recorded: bool
    verified: bool
    problem: str = ""


async def run_headless(stack: DemoStack, farmers: int, console: Console, *, seed: int = 1,
                       contaminated: int = 0,
                       delivery_timeout_s: float | None = None) -> int:
    kiosk = stack.kiosk
    assert kiosk is not None
    outbox = kiosk.books.outbox
    if delivery_timeout_s is None:
        delivery_timeout_s = DELIVERY_TIMEOUT_S
    started = time.monotonic()
    await prepare(kiosk)
    rng = random.Random(seed)
    products = sorted(kiosk.catalogue.products)
    categories = {code: p.category for code, p in kiosk.catalogue.products.items()}
    plans = plan_farmers(farmers, products, rng, categories, contaminated=contaminated)
    outcomes: list[FarmerOutcome] = []
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        testing = progress.add_task("farmers testing   ", total=len(plans))
        for plan in plans:
            outcomes.append(await test_lot(kiosk, plan, rng))
            progress.advance(testing)
        stats = await asyncio.to_thread(outbox.stats)
        delivering = progress.add_task("records delivered ", total=stats.last_seq)
        deadline = time.monotonic() + delivery_timeout_s
        while True:
            stats = await asyncio.to_thread(outbox.stats)
            progress.update(delivering, completed=stats.acked_seq, total=stats.last_seq)
            if stats.unacked == 0 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)

    checks = await verify_in_cloud(stack.api_url, outcomes)
    assert stack.engine is not None
    cloud_lots = await asyncio.to_thread(lot_outcomes_in_cloud, stack.engine)
    console.print(summary_table(outcomes, checks, cloud_lots, time.monotonic() - started,
                                acked=stats.acked_seq, made=stats.last_seq))
    if stats.unacked:
        console.print(f"[red]{stats.unacked} records unacknowledged after "
                      f"{delivery_timeout_s:.0f} s: the cloud has acknowledged seq "
                      f"{stats.acked_seq} of {stats.last_seq}[/red]")
        refused = await asyncio.to_thread(refused_in_cloud, stack.engine,
                                          kiosk.gateway.identity.device_id)
        for line in refused:
            console.print(f"[red]  refused by the cloud: {line}[/red]")
        if refused:
            console.print("[red]  see them with: nongan bridge dead-letters list[/red]")
    if len(checks) <= 30:
        console.print(certificate_table(checks))
    clean = [o for o in outcomes if not o.plan.contaminated]
    dirty = [o for o in outcomes if o.plan.contaminated]
    ok = (stats.unacked == 0
          and all(o.certificate is not None for o in clean)
          and all(c.recorded and c.verified for c in checks)
          and all(o.certificate is None and o.blocked
                  and cloud_lots.get(o.session_id) == "blocked_positive" for o in dirty))
    for check in checks:
        if check.problem:
            console.print(f"[red]{check.certificate.serial}: {check.problem}[/red]")
    for outcome in clean:
        if outcome.certificate is None:
            console.print(f"[red]farmer {outcome.plan.number} (clean produce): no certificate: "
                          f"{outcome.refused or outcome.final_step}[/red]")
    for outcome in dirty:
        if outcome.certificate is not None:
            console.print(f"[red]farmer {outcome.plan.number} (contaminated produce) got a "
                          "certificate[/red]")
        elif cloud_lots.get(outcome.session_id) != "blocked_positive":
            console.print(f"[red]farmer {outcome.plan.number}: the blocked lot is not in the "
                          f"cloud as a positive (kiosk: {outcome.final_step})[/red]")
    console.print("[green]all records acknowledged; all certificates recorded and verified; "
                  "every contaminated lot blocked and reported[/green]" if ok else
                  "[red]NOT everything reached the cloud or ended as it should (see above)"
                  "[/red]")
    return 0 if ok else 1


def refused_in_cloud(engine: Any, device_id: str, limit: int = 10) -> list[str]:
    """The kiosk's dead letters still open in the demo's cloud, one line each."""
    if engine is None:
        return []
    from cloud_bridge.ingest.resolution import Filter, list_letters
    from cloud_bridge.store import session_factory

    with session_factory(engine)() as session:
        found = list_letters(session, Filter(device_id=device_id, limit=limit))
    return [f"#{d.id} seq {d.seq if d.seq is not None else '?'}: {d.code}: {d.reason[:160]}"
            for d in found]


async def verify_in_cloud(api_url: str, outcomes: list[FarmerOutcome]) -> list[Check]:
    checks = []
    async with httpx.AsyncClient(base_url=api_url, timeout=10.0) as client:
        for outcome in outcomes:
            if outcome.certificate is None:
                continue
            cert = outcome.certificate
            response = await client.get(f"/api/v1/certificates/{cert.token}")
            if response.status_code == 404:
                checks.append(Check(cert, False, False, "not in the cloud"))
                continue
            if response.status_code != 200:
                checks.append(Check(cert, False, False, f"HTTP {response.status_code}"))
                continue
            record = response.json()
            problems = [
                name for name, kiosk_value, cloud_value in (
                    ("serial", cert.serial, record["serial"]),
                    ("product", cert.product_code, record["product_code"]),
                    ("quantity", cert.quantity, record["quantity"]),
                    ("unit", cert.unit, record["unit"]),
                    ("tests", len(cert.tests), len(record["tests"])),
                    ("valid", True, record["valid"]),
                ) if kiosk_value != cloud_value
            ]
            checks.append(Check(cert, True, not problems,
                                f"differs in {', '.join(problems)}" if problems else ""))
    return checks


def summary_table(outcomes: list[FarmerOutcome], checks: list[Check],
                  cloud_lots: dict[str, str], elapsed: float, *, acked: int = 0,
                  made: int = 0) -> Table:
    readings = sum(o.readings for o in outcomes)
    clean = [o for o in outcomes if not o.plan.contaminated]
    dirty = [o for o in outcomes if o.plan.contaminated]
    table = Table(title="nongan demo — summary", show_header=True)
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("farmers (clean produce)", str(len(clean)))
    table.add_row("farmers (contaminated produce)", str(len(dirty)))
    table.add_row("cassettes tested", str(sum(o.cassettes for o in outcomes)))
    table.add_row("strip readings", str(readings))
    table.add_row("certificates issued", str(sum(o.certificate is not None for o in outcomes)))
    table.add_row("recorded in the cloud", str(sum(c.recorded for c in checks)))
    table.add_row("verified through the API", str(sum(c.verified for c in checks)))
    table.add_row("blocked lots (positive)", str(sum(o.final_step is Step.BLOCKED
                                                     for o in outcomes)))
    table.add_row("blocked lots (unresolved)", str(sum(o.final_step is Step.UNRESOLVED
                                                       for o in outcomes)))
    table.add_row("positive events in the cloud",
                  str(sum(cloud_lots.get(o.session_id) == "blocked_positive"
                          for o in outcomes)))
    table.add_row("records acknowledged by the cloud", f"{acked} of {made}")
    table.add_row("elapsed", f"{elapsed:.1f} s")
    return table


def certificate_table(checks: list[Check]) -> Table:
    table = Table(title="certificates", show_header=True)
    for column in ("serial", "product", "quantity", "tests", "recorded", "verified"):
        table.add_column(column)
    for check in checks:
        cert = check.certificate
        table.add_row(cert.serial, cert.product_name, f"{cert.quantity:g} {cert.unit}",
                      str(len(cert.tests)), "yes" if check.recorded else "NO",
                      "yes" if check.verified else "NO")
    return table
