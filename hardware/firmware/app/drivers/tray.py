# The strip tray: a DC gear motor on an H-bridge (two pins) between two limit switches
# (pulled up, closed to GND). A move that does not reach its switch in time is a jam.


class Tray:
    def __init__(self, in1, in2, closed_switch, open_switch, clock, timeout_ms):
        self._in1 = in1
        self._in2 = in2
        self._closed = closed_switch
        self._open = open_switch
        self._clock = clock
        self._timeout_ms = timeout_ms
        self.target = None
        self._started = 0
        self.jammed = False
        self._stop()

    def _stop(self):
        self._in1.value(0)
        self._in2.value(0)

    def at(self):
        """Where the switches say the tray is: "in", "out" or None (between them)."""
        if self._closed.value() == 0:
            return "in"
        if self._open.value() == 0:
            return "out"
        return None

    @property
    def position(self):
        if self.target is not None:
            return "moving"
        if self.jammed:
            return "jammed"
        where = self.at()
        return where if where is not None else "unknown"

    def move(self, target):
        """Start a move; return True if already there (no motion needed)."""
        self.jammed = False
        if self.at() == target:
            self.target = None
            self._stop()
            return True
        self.target = target
        self._started = self._clock.ticks_ms()
        if target == "in":
            self._in1.value(1)
            self._in2.value(0)
        else:
            self._in1.value(0)
            self._in2.value(1)
        return False

    def poll(self):
        """Stop at the switch; return "done", "jammed" or None (still moving / idle)."""
        if self.target is None:
            return None
        if self.at() == self.target:
            self.target = None
            self._stop()
            return "done"
        if self._clock.ticks_diff(self._clock.ticks_ms(), self._started) > self._timeout_ms:
            self.target = None
            self.jammed = True
            self._stop()
            return "jammed"
        return None
