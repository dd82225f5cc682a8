# Millisecond ticks: MicroPython's time.ticks_ms on the board, a monotonic stand-in elsewhere.
import time


class Clock:
    def __init__(self):
        self._ticks = getattr(time, "ticks_ms", None)
        self._diff = getattr(time, "ticks_diff", None)

    def ticks_ms(self):
        if self._ticks is not None:
            return self._ticks()
        return int(time.monotonic() * 1000)

    def ticks_diff(self, a, b):
        if self._diff is not None:
            return self._diff(a, b)
        return a - b
