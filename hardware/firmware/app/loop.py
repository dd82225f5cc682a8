# The main loop: read bytes from the host, answer each complete line, send events, feed the
# watchdog. The port is any object with read(timeout_ms) -> bytes and write(bytes).
from app.protocol import LineReader, encode, event, parse


class Loop:
    def __init__(self, port, reader):
        self.port = port
        self.reader = reader
        self.lines = LineReader()

    def boot(self):
        self.port.write(encode(self.reader.boot_event()))

    def step(self, idle_ms=10):
        """One turn: answer what arrived, run the controls; True when a reset was asked."""
        port = self.port
        reader = self.reader
        data = port.read(idle_ms)
        if data:
            for line in self.lines.feed(data):
                if line is None:
                    port.write(encode(event("error", code="line_too_long", detail="dropped")))
                    continue
                if not line:
                    continue
                msg, err = parse(line)
                if err is not None:
                    port.write(encode(err))
                    continue
                port.write(encode(reader.handle(msg)))
                if reader.reset_requested:
                    return True
        for ev in reader.poll():
            port.write(encode(ev))
        reader.watchdog.feed()
        return False


def serve(port, reader, stop=None):
    """Boot and run until stop() is true; return True when the host asked for a reset."""
    loop = Loop(port, reader)
    loop.boot()
    while stop is None or not stop():
        if loop.step():
            return True
    return False
