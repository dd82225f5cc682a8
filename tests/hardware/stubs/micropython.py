"""A stand-in for MicroPython's ``micropython`` module (only what the firmware uses)."""


def const(value):
    return value
