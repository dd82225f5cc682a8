# The USB serial port as the board sees it: MicroPython's stdin/stdout, polled so the main
# loop keeps running the heater and the tray while the host is quiet.
import select
import sys


class UsbPort:
    def __init__(self):
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(sys.stdin, select.POLLIN)

    def read(self, timeout_ms):
        data = bytearray()
        wait = timeout_ms
        while self._poll.poll(wait):
            byte = self._in.read(1)
            if not byte:
                # End of file (the unix port's stdin once the host end closes): poll would
                # keep saying "readable" and this loop never come back to the heater, so
                # stop polling the input; later reads just wait out their timeout.
                self._poll.unregister(sys.stdin)
                break
            data.extend(byte)
            wait = 0
            if len(data) >= 64:
                break
        return bytes(data)

    def write(self, data):
        self._out.write(data)
