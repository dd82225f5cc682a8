"""Printing the technician's results: the doctor's table and the calibration's checks."""

from __future__ import annotations

import shutil
from typing import IO

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .calibrate import CalibrationResult
from .report import DoctorReport, Status

STYLE = {Status.OK: "green", Status.WARNING: "yellow", Status.FAULT: "bold red"}


def console(file: IO[str] | None = None) -> Console:
    """A console as wide as the terminal, at least 120 columns when printing to a file."""
    width = max(120, shutil.get_terminal_size((120, 40)).columns)
    return Console(file=file, width=width, highlight=False, soft_wrap=False)


def doctor_table(report: DoctorReport) -> Table:
    table = Table(title=f"nongan doctor — {report.device_id}, "
                        f"{report.checked_at:%Y-%m-%d %H:%M} UTC",
                  show_lines=False, expand=False)
    table.add_column("area")
    table.add_column("check")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    table.add_column("fix", overflow="fold")
    for check in report.checks:
        table.add_row(check.area, check.name, Text(check.status.value, STYLE[check.status]),
                      check.detail, check.fix)
    return table


def print_doctor(report: DoctorReport, out: Console) -> None:
    out.print(doctor_table(report))
    for note in report.notes:
        out.print(f"note: {note}")
    counts = report.counts
    summary = (f"{counts['ok']} ok, {counts['warning']} warning(s), {counts['fault']} "
               f"fault(s)")
    out.print(Text(f"{report.status.value.upper()}: {summary}", STYLE[report.status]))


def calibration_table(result: CalibrationResult) -> Table:
    table = Table(title=f"calibration of reader {result.reader_id}")
    for column in ("check", "result", "figure", "limit"):
        table.add_column(column)
    for finding in result.findings:
        verdict = Text("pass", "green") if finding.passed else Text("FAIL", "bold red")
        table.add_row(finding.check, verdict, finding.figure, finding.limit)
    return table


def print_calibration(result: CalibrationResult, out: Console, *, next_due: str) -> None:
    out.print(calibration_table(result))
    white = result.figures.get("white_reference_bgr")
    if white:
        out.print(f"white reference (linear B, G, R): {white[0]:.3f}, {white[1]:.3f}, "
                  f"{white[2]:.3f}")
    when = f"{result.performed_at:%Y-%m-%d %H:%M} UTC"
    if result.passed:
        out.print(Text(f"PASSED — stored for reader {result.reader_id} at {when} with its flat "
                       f"field; next calibration due {next_due}", "green"))
        return
    out.print(Text(f"FAILED — stored for reader {result.reader_id} at {when}; the kiosk refuses "
                   "to test until a calibration passes:", "bold red"))
    for problem in result.problems:
        out.print(f"  - {problem}")
