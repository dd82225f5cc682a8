# Thin entry point run by MicroPython at boot: everything lives in the app package.
# Any exception is printed (the host ignores tracebacks) and the board resets after a pause,
# so a crash never leaves the heater or the tray motor running. KeyboardInterrupt is not caught
# on purpose: Ctrl-C from mpremote must reach the REPL so the board can always be redeployed.
try:
    import app

    app.main()
except Exception as exc:
    import sys
    import time

    import machine

    sys.print_exception(exc)
    time.sleep(2)
    machine.reset()
