# The firmware's version and the line protocol version it speaks (hardware/PROTOCOL.md).
# `nongan firmware deploy` reads VERSION from this file and checks the board's hello line.
VERSION = "1.0.0"
PROTOCOL = 1
