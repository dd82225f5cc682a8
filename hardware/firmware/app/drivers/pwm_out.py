# A PWM output with a level from 0.0 to 1.0 (LED brightness, heater power).


class PwmOutput:
    def __init__(self, pwm, freq):
        self._pwm = pwm
        self._pwm.freq(freq)
        self._level = 0.0
        self._pwm.duty_u16(0)

    @property
    def level(self):
        return self._level

    def set(self, level):
        if level < 0.0:
            level = 0.0
        elif level > 1.0:
            level = 1.0
        self._level = level
        self._pwm.duty_u16(int(level * 65535 + 0.5))
