# The cassette sensor: a reflective IR module whose output goes low over a cassette.
# Debounced: a change counts only once it has held for debounce_ms.


class CassetteSensor:
    def __init__(self, pin, clock, debounce_ms):
        self._pin = pin
        self._clock = clock
        self._debounce_ms = debounce_ms
        self.present = pin.value() == 0
        self._candidate = self.present
        self._since = clock.ticks_ms()

    def poll(self):
        """Return the new state when it changed (after debouncing), else None."""
        now_present = self._pin.value() == 0
        now = self._clock.ticks_ms()
        if now_present != self._candidate:
            self._candidate = now_present
            self._since = now
            return None
        if now_present != self.present:
            if self._clock.ticks_diff(now, self._since) >= self._debounce_ms:
                self.present = now_present
                return now_present
        return None
