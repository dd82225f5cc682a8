# Device drivers of the reader controller. Each takes pin/bus objects (never pin numbers), so
# the same logic runs on the board and under CPython with stub pins in the host's tests.
