# The hardware watchdog, armed lazily: on the first command that drives an actuator (heater,
# tray motor), since a hang with the heater on must reset the board (which turns it off). It
# stays disarmed until then so that `mpremote` can interrupt a freshly reset board and copy
# files without the watchdog resetting it mid-copy (an RP2040 watchdog cannot be stopped).

from micropython import const

TIMEOUT_MS = const(8000)  # the RP2040's maximum is 8388 ms


class Watchdog:
    def __init__(self, machine, timeout_ms=TIMEOUT_MS):
        self._machine = machine
        self._timeout_ms = timeout_ms
        self._wdt = None

    def arm(self):
        if self._wdt is None:
            self._wdt = self._machine.WDT(timeout=self._timeout_ms)

    def feed(self):
        if self._wdt is not None:
            self._wdt.feed()
