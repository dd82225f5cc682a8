"""Turning keyboard-wedge key events into characters (US layout, which scanners default to).

Key codes are the Linux input event codes (linux/input-event-codes.h, a stable kernel ABI),
written as numbers so this module needs no evdev and can be tested anywhere.
"""

from __future__ import annotations

KEY_ENTER = 28
KEY_KPENTER = 96
SHIFTS = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
CTRLS = {29, 97}  # KEY_LEFTCTRL, KEY_RIGHTCTRL
KEY_RIGHTBRACE = 27
GS = "\x1d"  # what a wedge scanner types as Ctrl+] for a GS1 code's FNC1 separator
CAPSLOCK = 58

# code: (plain, shifted)
_ROWS = {
    2: "1!", 3: "2@", 4: "3#", 5: "4$", 6: "5%", 7: "6^", 8: "7&", 9: "8*", 10: "9(",
    11: "0)", 12: "-_", 13: "=+", 16: "qQ", 17: "wW", 18: "eE", 19: "rR", 20: "tT", 21: "yY",
    22: "uU", 23: "iI", 24: "oO", 25: "pP", 26: "[{", 27: "]}", 30: "aA", 31: "sS", 32: "dD",
    33: "fF", 34: "gG", 35: "hH", 36: "jJ", 37: "kK", 38: "lL", 39: ";:", 40: "'\"", 41: "`~",
    43: "\\|", 44: "zZ", 45: "xX", 46: "cC", 47: "vV", 48: "bB", 49: "nN", 50: "mM", 51: ",<",
    52: ".>", 53: "/?", 57: "  ",
    # keypad
    55: "**", 71: "77", 72: "88", 73: "99", 74: "--", 75: "44", 76: "55", 77: "66", 78: "++",
    79: "11", 80: "22", 81: "33", 82: "00", 83: "..", 98: "//",
}

KEY_DOWN, KEY_UP, KEY_REPEAT = 1, 0, 2


class KeyDecoder:
    """Feed it (code, value) key events; it returns characters ("\\n" for Enter, NUL for a
    key that cannot be part of a code)."""

    def __init__(self) -> None:
        self._shift = set[int]()
        self._ctrl = set[int]()
        self._caps = False
        self.unknown = 0

    def feed(self, code: int, value: int) -> str | None:
        if code in SHIFTS:
            if value == KEY_UP:
                self._shift.discard(code)
            else:
                self._shift.add(code)
            return None
        if code in CTRLS:
            if value == KEY_UP:
                self._ctrl.discard(code)
            else:
                self._ctrl.add(code)
            return None
        if value == KEY_UP:
            return None
        if self._ctrl:
            # Ctrl+] is the ASCII control code GS; any other Ctrl chord is not part of a code.
            if code == KEY_RIGHTBRACE:
                return GS
            self.unknown += 1
            return "\x00"
        if code == CAPSLOCK:
            self._caps = not self._caps
            return None
        if code in (KEY_ENTER, KEY_KPENTER):
            return "\n"
        pair = _ROWS.get(code)
        if pair is None:
            # A key no code contains: the code is garbled. NUL makes read_code refuse it.
            self.unknown += 1
            return "\x00"
        plain, shifted = pair[0], pair[1]
        upper = bool(self._shift)
        if plain.isalpha() and self._caps:
            upper = not upper
        return shifted if upper else plain
