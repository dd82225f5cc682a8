# Reader controller board, revision A: a Raspberry Pi Pico (RP2040) on the reader carrier.
# This pin table is the single source of the wiring: the firmware builds its drivers from it
# and hardware/wiring.md is generated from it (a test checks they agree).

NAME = "rev_a"
MCU = "Raspberry Pi Pico (RP2040), MicroPython 1.22 or later"

# (signal, GPIO, mode, what it connects to)
# mode: out, out-pwm, in-pullup (switch or open-collector to GND, active low), adc
PINS = (
    ("led_pwm", 15, "out-pwm", "LED driver PT4115 DIM input: the strip illumination ring"),
    ("heater_pwm", 16, "out-pwm", "heater MOSFET AO3400 gate (100 ohm series): 12 V 10 W pad"),
    ("thermistor_adc", 26, "adc", "ADC0: 10k NTC B3950 to GND, 10k 0.1% pull-up to ADC_VREF"),
    ("tray_in1", 2, "out", "DRV8833 AIN1: tray motor (AIN1 high = tray moves in)"),
    ("tray_in2", 3, "out", "DRV8833 AIN2: tray motor (AIN2 high = tray moves out)"),
    ("tray_closed", 4, "in-pullup", "limit switch: tray fully in (closes to GND)"),
    ("tray_open", 5, "in-pullup", "limit switch: tray fully out (closes to GND)"),
    ("cassette", 6, "in-pullup", "TCRT5000 reflective sensor module DO: low = cassette present"),
    ("status_led", 25, "out", "on-board LED: heartbeat"),
)

LED_PWM_HZ = 20000
HEATER_PWM_HZ = 100

# NTC thermistor in a divider: ADC = 65535 * R_ntc / (R_ntc + R_FIXED)
THERMISTOR_R_FIXED = 10000.0
THERMISTOR_R25 = 10000.0
THERMISTOR_BETA = 3950.0

HEATER_MAX_SETPOINT_C = 60.0
HEATER_CUTOFF_C = 70.0
HEATER_GAIN_PER_C = 0.25
TRAY_TIMEOUT_MS = 5000
CASSETTE_DEBOUNCE_MS = 50
