# The reader controller board simulated on MicroPython's unix port (for tests and for trying
# the firmware without a board). Never copied to a board: `nongan firmware deploy` stages only
# main.py, app/ and boards/, and sim/machine.py would shadow the board's own machine module.
