"""A window's T/C becomes a call by the kit's decision mode."""

from __future__ import annotations

from gateway.kits.models import Decision, Mode
from protocol.messages import Call

T_VISIBLE_SNR = 3.0  # below this the T line is not distinguishable from noise


def decide(ratio: float, t_snr: float, rule: Decision) -> Call:
    """The call for a valid window (C present, every gate passed).

    Competitive kits (tc_ratio, t_disappearance): a strong T means no analyte (negative);
    a weak or absent T means analyte (positive). Sandwich kits read the other way round.
    Between the cut-offs the call is suspect: re-test, never a guess.
    """
    low, high = rule.cutoff_low, rule.cutoff_high
    if rule.mode is Mode.SANDWICH_THRESHOLD:
        if ratio >= high and t_snr >= T_VISIBLE_SNR:
            return Call.POSITIVE
        return Call.NEGATIVE if ratio < low else Call.SUSPECT
    if rule.mode is Mode.T_DISAPPEARANCE and t_snr < T_VISIBLE_SNR:
        return Call.POSITIVE  # T has gone
    if ratio < low:
        return Call.POSITIVE
    return Call.NEGATIVE if ratio >= high else Call.SUSPECT
