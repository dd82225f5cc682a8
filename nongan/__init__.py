"""The ``nongan`` command line and the demo: the composition root, the only package that wires
kiosk and cloud together.
"""

__version__ = "0.1.0"
