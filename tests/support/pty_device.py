"""A fake device on the far end of a pseudo-terminal: the code under test opens ``path`` as
it would /dev/ttyACM0, and a thread serves the other end (``_run``) until the ``with`` ends."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Self


@contextmanager
def raw_pty() -> Iterator[tuple[int, str]]:
    """A raw pseudo-terminal pair: the master's descriptor and the slave's path."""
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(master)
        os.close(slave)


class PtyDevice:
    """Subclasses implement ``_run``, reading and writing ``self.master`` until ``_stop``."""

    def __init__(self, thread_name: str) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        os.close(self.master)
        os.close(self.slave)
