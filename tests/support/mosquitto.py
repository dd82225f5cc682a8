"""A private Mosquitto broker for one test (or one benchmark run).

Each instance gets its own config file, port and (optional) persistence folder, so tests never
share state with each other or with the system broker on 1883.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from .net import free_port, wait_for_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


@dataclass
class Mosquitto:
    """A running ``mosquitto -c <file>`` on 127.0.0.1; ``stop()``/``start()`` for chaos tests."""

    workdir: Path
    port: int = field(default_factory=free_port)
    persistence: bool = False
    extra_config: str = ""
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def log_path(self) -> Path:
        return self.workdir / "mosquitto.log"

    def write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            # Tests must see loss if it happens, not hide it in a small queue: the kiosks'
            # real brokers raise these limits too (see hardware/deploy/mosquitto.conf).
            "max_queued_messages 100000",
            "max_inflight_messages 100",
            f"log_dest file {self.log_path}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            self.extra_config,
        ]
        if os.geteuid() == 0 and not any(line.startswith("user ")
                                         for line in self.extra_config.splitlines()):
            # Test folders are root's (pytest's tmp is 0700): without this the broker drops
            # to the mosquitto user and can write neither its log nor its persistence file.
            lines.append("user root")
        self.config_path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    def start(self, timeout: float = 10.0) -> Mosquitto:
        if not Path(MOSQUITTO).exists():
            raise RuntimeError(
                f"{MOSQUITTO} not found: install Debian's mosquitto (scripts/test does this)"
            )
        self.write_config()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_for_port(self.port, timeout=timeout)
        except TimeoutError:
            self.stop()
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise RuntimeError(f"mosquitto did not start on port {self.port}:\n{log}") from None
        return self

    def stop(self, *, kill: bool = False) -> None:
        """Stop the broker: SIGTERM (saves persistence) or SIGKILL (a crash)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            if proc is not None and proc.stderr:
                proc.stderr.close()
            return
        proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr:
            proc.stderr.close()

    def restart(self, *, kill: bool = False) -> None:
        self.stop(kill=kill)
        self.start()
