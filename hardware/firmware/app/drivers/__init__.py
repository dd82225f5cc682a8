# Device drivers of the reader controller. Each takes pin/bus objects (never pin numbers), so
# the same logic runs on the board and, in the tests, on MicroPython's unix port with the
# simulated pins of sim/machine.py.
