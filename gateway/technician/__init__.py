"""The station technician's tools: ``nongan doctor`` (every check of a kiosk, with the fix in
words; also the cloud's ``diagnostics`` command), ``nongan calibrate`` (white card, LED, focus;
stored per reader) and ``nongan kits`` (kit boxes into stock by their labels).

Import the submodules you need (``gateway.technician.doctor``, ``.calibrate``, ...): this
package's ``__init__`` stays light so the gateway can import the diagnostics handler without
the command line.
"""

from .calibrate import CalibrationResult, Step, calibrate
from .doctor import DoctorLimits, diagnostics_command, run_doctor
from .measure import CalibrationLimits, Finding
from .report import Check, DoctorReport, Status

__all__ = [
    "CalibrationLimits",
    "CalibrationResult",
    "Check",
    "DoctorLimits",
    "DoctorReport",
    "Finding",
    "Status",
    "Step",
    "calibrate",
    "diagnostics_command",
    "run_doctor",
]
