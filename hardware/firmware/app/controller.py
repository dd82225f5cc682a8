# The reader controller's state and its answers to the host: one method per protocol op
# (hardware/PROTOCOL.md), and poll() for what happens on its own (cassette, tray, faults).
from micropython import const

from app.drivers.heater import HeaterFault
from app.drivers.thermistor import ThermistorFault
from app.protocol import event
from app.version import PROTOCOL, VERSION

OPS = ("hello", "status", "led", "tray", "heater", "clear", "reset")
HEATER_PERIOD_MS = const(250)
HEARTBEAT_MS = const(500)
# With the heater on, the host must say something at least this often, or the heater goes off.
HOST_SILENT_MS = const(60000)


class OpError(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)  # MicroPython's Exception has no __init__ attribute
        self.code = code
        self.detail = detail


def _number(msg, key, low, high, allow_null=False):
    value = msg.get(key, "missing")
    if value is None and allow_null:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OpError("bad_value", "%s must be a number" % key)
    if value < low or value > high:
        raise OpError("bad_value", "%s must be %s..%s" % (key, low, high))
    return value


class Reader:
    def __init__(self, board, hw, clock, watchdog, boot_id, reset_cause):
        self.board = board
        self.hw = hw
        self.clock = clock
        self.watchdog = watchdog
        self.boot_id = boot_id
        self.reset_cause = reset_cause
        self.faults = []
        self.reset_requested = False
        now = clock.ticks_ms()
        self._last_host = now
        self._last_heater = now
        self._last_beat = now
        self._beat = 0

    # -- messages ----------------------------------------------------------------------------

    def hello_fields(self):
        return {"fw": VERSION, "proto": PROTOCOL, "board": self.board.NAME, "boot": self.boot_id}

    def boot_event(self):
        msg = event("hello")
        msg.update(self.hello_fields())
        msg["reset_cause"] = self.reset_cause
        return msg

    def _fault(self, code, detail):
        if code not in self.faults:
            self.faults.append(code)
        return event("fault", code=code, detail=detail)

    def handle(self, msg):
        """Answer one request (a dict with an integer id)."""
        self._last_host = self.clock.ticks_ms()
        op = msg.get("op")
        reply = {"id": msg["id"]}
        if not isinstance(op, str) or op not in OPS:
            reply["ok"] = False
            reply["error"] = "unknown_op"
            reply["detail"] = "no op %s" % (repr(op)[:24],)
            return reply
        try:
            fields = getattr(self, "op_" + op)(msg)
        except OpError as exc:
            reply["ok"] = False
            reply["error"] = exc.code
            reply["detail"] = exc.detail
            return reply
        reply["ok"] = True
        reply.update(fields)
        return reply

    # -- ops ---------------------------------------------------------------------------------

    def op_hello(self, msg):
        return self.hello_fields()

    def op_status(self, msg):
        heater = self.hw["heater"]
        try:
            temp = round(heater.read(), 1)
        except ThermistorFault:
            temp = None
        return {
            "led": self.hw["led"].level,
            "tray": self.hw["tray"].position,
            "cassette": self.hw["cassette"].present,
            "temp": temp,
            "setpoint": heater.setpoint,
            "heating": heater.heating,
            "faults": list(self.faults),
        }

    def op_led(self, msg):
        level = _number(msg, "level", 0, 1)
        self.hw["led"].set(level)
        return {"led": self.hw["led"].level}

    def op_tray(self, msg):
        pos = msg.get("pos")
        if pos not in ("in", "out"):
            raise OpError("bad_value", "pos must be 'in' or 'out'")
        tray = self.hw["tray"]
        if "tray_jammed" in self.faults:
            self.faults.remove("tray_jammed")
        self.watchdog.arm()
        if tray.move(pos):
            return {"tray": pos}
        return {"tray": "moving"}

    def op_heater(self, msg):
        heater = self.hw["heater"]
        setpoint = _number(msg, "setpoint", 0, heater.max_setpoint_c, allow_null=True)
        if setpoint is not None:
            try:
                heater.read()
            except ThermistorFault as exc:
                raise OpError("thermistor_fault", str(exc))
            for code in ("thermistor_fault", "heater_overtemp"):
                if code in self.faults:
                    raise OpError(code, "heater locked off by %s; clear faults first" % code)
            self.watchdog.arm()
        heater.set(setpoint)
        if "host_silent" in self.faults:
            self.faults.remove("host_silent")
        return {"setpoint": heater.setpoint}

    def op_clear(self, msg):
        self.faults = []
        return {"faults": []}

    def op_reset(self, msg):
        self.reset_requested = True
        return {}

    # -- what happens on its own -------------------------------------------------------------

    def poll(self):
        """Run the control loops; return the events to send."""
        events = []
        now = self.clock.ticks_ms()
        diff = self.clock.ticks_diff
        present = self.hw["cassette"].poll()
        if present is not None:
            events.append(event("cassette", present=present))
        tray = self.hw["tray"]
        target = tray.target
        done = tray.poll()
        if done == "done":
            events.append(event("tray", pos=target))
        elif done == "jammed":
            events.append(self._fault(
                "tray_jammed", "tray did not reach '%s' in %d ms" % (target, tray._timeout_ms)))
        heater = self.hw["heater"]
        if heater.setpoint is not None and diff(now, self._last_host) > HOST_SILENT_MS:
            heater.off()
            events.append(self._fault("host_silent", "no word from the host; heater off"))
        if diff(now, self._last_heater) >= HEATER_PERIOD_MS:
            self._last_heater = now
            try:
                heater.poll()
            except HeaterFault as exc:
                if heater.setpoint is not None or exc.code not in self.faults:
                    events.append(self._fault(exc.code, exc.detail))
        if diff(now, self._last_beat) >= HEARTBEAT_MS:
            self._last_beat = now
            self._beat ^= 1
            self.hw["status_led"].value(self._beat)
        return events
