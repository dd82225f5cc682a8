"""What every device shares: ``open()``/``close()``, use as a context manager, ``is_open``.

Backends implement ``_open()`` and ``_close()``; a device may check itself after opening
(``_after_open``, e.g. a camera's warm-up frames) and closes again if that fails. Devices with
their own opening rules (the reader's handshake under a lock, the printer's transports) only
take the context-manager part, ``ContextManaged``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Self


class ContextManaged(ABC):
    @abstractmethod
    def open(self) -> Self: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class OpenClose(ContextManaged):
    _opened = False

    @abstractmethod
    def _open(self) -> None:
        """Acquire the device (raise DeviceAbsent if it is not there)."""

    @abstractmethod
    def _close(self) -> None:
        """Release the device."""

    def _after_open(self) -> None:
        """Check the freshly opened device; raise to refuse it (it is closed again)."""

    def open(self) -> Self:
        self._open()
        self._opened = True
        try:
            self._after_open()
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self._opened:
            self._opened = False
            self._close()

    @property
    def is_open(self) -> bool:
        return self._opened
