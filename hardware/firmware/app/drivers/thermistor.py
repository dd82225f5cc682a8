# An NTC thermistor read through the ADC, in a divider with a fixed resistor to the reference:
# ADC = 65535 * R_ntc / (R_ntc + R_fixed). Open or shorted sensors read near the rails.
import math

# Below/above these raw readings the sensor is shorted/open (beyond about 150 C / -40 C).
ADC_MIN = 300
ADC_MAX = 65000


class ThermistorFault(Exception):
    pass


class Thermistor:
    def __init__(self, adc, r_fixed, r25, beta):
        self._adc = adc
        self._r_fixed = r_fixed
        self._r25 = r25
        self._beta = beta

    def read_c(self):
        raw = self._adc.read_u16()
        if raw < ADC_MIN:
            raise ThermistorFault("thermistor shorted (adc %d)" % raw)
        if raw > ADC_MAX:
            raise ThermistorFault("thermistor open (adc %d)" % raw)
        r = self._r_fixed * raw / (65535 - raw)
        inv_t = 1.0 / 298.15 + math.log(r / self._r25) / self._beta
        return 1.0 / inv_t - 273.15
