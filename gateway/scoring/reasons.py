"""Why a reading was rejected or left undecided: stable codes for the kiosk UI to translate,
and English sentences a person can act on (the UI shows its own zh-CN wording per code)."""

from __future__ import annotations

from enum import StrEnum


class Reason(StrEnum):
    """Stable machine codes; never rename one (the UI's translation catalogue keys on them)."""

    CASSETTE_ABSENT = "cassette_absent"
    CASSETTE_MISPLACED = "cassette_misplaced"
    CASSETTE_ROTATED = "cassette_rotated"
    CASSETTE_REVERSED = "cassette_reversed"
    CASSETTE_MISMATCH = "cassette_mismatch"
    OVEREXPOSED = "overexposed"
    UNDEREXPOSED = "underexposed"
    BLURRED = "blurred"
    GLARE = "glare"
    MEMBRANE_WET = "membrane_wet"
    MEMBRANE_UNCLEARED = "membrane_uncleared"
    NO_CONTROL_LINE = "no_control_line"
    PROFILE_NOISY = "profile_noisy"
    SUSPECT_BAND = "tc_in_suspect_band"
    BURST_UNSTABLE = "burst_unstable"
    FRAMES_DISCARDED = "frames_discarded"


# Templates take the figures measured; each says what happened and what to do.
MESSAGES: dict[Reason, str] = {
    Reason.CASSETTE_ABSENT:
        "No cassette found in the tray: put the cassette in the tray, window up, and read again.",
    Reason.CASSETTE_MISPLACED:
        "The cassette is not seated in the tray (off by {offset_mm:.1f} mm): push it against "
        "the tray stop and read again.",
    Reason.CASSETTE_ROTATED:
        "The cassette lies crooked ({rotation_deg:.1f}° turned): lay it straight in the tray "
        "and read again.",
    Reason.CASSETTE_REVERSED:
        "The cassette is the wrong way round: turn it so the sample well is on the left, "
        "and read again.",
    Reason.CASSETTE_MISMATCH:
        "This cassette does not match the selected kit (size off by {size_error:.0%}): check "
        "the kit chosen on the screen, or lay the cassette flat in the tray.",
    Reason.OVEREXPOSED:
        "The picture is too bright (result window saturated): close the lid and read again; "
        "if it persists, call the technician to check the light.",
    Reason.UNDEREXPOSED:
        "The picture is too dark: close the lid and check that the light is on; if it "
        "persists, call the technician.",
    Reason.BLURRED:
        "The picture is out of focus (edge blur {blur_px:.1f} px): check that the cassette "
        "lies flat in the tray; if it persists, call the technician.",
    Reason.GLARE:
        "A reflection (glare) covers the result window: wipe the window dry, close the lid and "
        "read again.",
    Reason.MEMBRANE_WET:
        "The strip is still wet (membrane {membrane_ratio:.0%} as bright as when dry): wait "
        "until the read time on the kit and read again.",
    Reason.MEMBRANE_UNCLEARED:
        "The strip background is still coloured (not cleared, background density "
        "{background_od:.2f}): wait a few minutes and read again; if it stays coloured, "
        "re-test with a new strip.",
    Reason.NO_CONTROL_LINE:
        "No control (C) line: this strip is invalid. Re-test with a new strip.",
    Reason.PROFILE_NOISY:
        "The result window is too uneven to read reliably (dirt, scratches or noise): "
        "re-test with a new strip; if it persists, call the technician.",
    Reason.SUSPECT_BAND:
        "T/C {t_c_ratio:.2f} lies between the kit's cut-offs ({cutoff_low:.2f}-"
        "{cutoff_high:.2f}): the result is uncertain. Re-test with a new strip.",
    Reason.BURST_UNSTABLE:
        "The readings of the {frame_count} pictures disagree (T/C spread {t_c_spread:.2f}): "
        "keep the cassette still, close the lid and read again.",
    Reason.FRAMES_DISCARDED:
        "{discarded} of {frame_count} pictures were set aside ({why}); the reading uses the "
        "rest.",
}


def message(code: Reason, **figures: object) -> str:
    """The English sentence for ``code`` with the figures filled in."""
    try:
        return MESSAGES[code].format(**figures)
    except (KeyError, ValueError, TypeError):
        # A missing figure must never hide the reason itself.
        return MESSAGES[code].split(":")[0].split("(")[0].strip() + "."
