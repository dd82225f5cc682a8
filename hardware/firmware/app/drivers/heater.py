# The heater pad under the tray: proportional control toward a set-point, a hard cut-off, and
# an off state after any sensor fault. It is off at boot; only the host turns it on.
from app.drivers.thermistor import ThermistorFault


class HeaterFault(Exception):
    def __init__(self, code, detail):
        super().__init__(detail)  # MicroPython's Exception has no __init__ attribute
        self.code = code
        self.detail = detail


class Heater:
    def __init__(self, output, thermistor, max_setpoint_c, cutoff_c, gain_per_c):
        self._out = output
        self._therm = thermistor
        self.max_setpoint_c = max_setpoint_c
        self._cutoff_c = cutoff_c
        self._gain = gain_per_c
        self.setpoint = None
        self.temp = None

    @property
    def heating(self):
        return self._out.level > 0.0

    def set(self, setpoint):
        self.setpoint = setpoint
        if setpoint is None:
            self._out.set(0.0)

    def off(self):
        self.setpoint = None
        self._out.set(0.0)

    def read(self):
        # Raises ThermistorFault; the caller turns the heater off.
        self.temp = self._therm.read_c()
        return self.temp

    def poll(self):
        """Read the sensor and adjust the power; raise HeaterFault (heater already off)."""
        try:
            temp = self.read()
        except ThermistorFault as exc:
            self.temp = None
            self.off()
            raise HeaterFault("thermistor_fault", str(exc))
        if temp >= self._cutoff_c:
            self.off()
            raise HeaterFault("heater_overtemp", "heater at %.1f C, cut off" % temp)
        if self.setpoint is None:
            self._out.set(0.0)
        else:
            self._out.set((self.setpoint - temp) * self._gain)
