"""Finding the CJK font for receipts: Noto Sans CJK SC from Debian's ``fonts-noto-cjk``.

Asked of fontconfig first (``fc-match``), then the package's known paths. The collection file
holds several faces; the Simplified Chinese one is picked by index.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from device_drivers.errors import DeviceAbsent

FAMILY = "Noto Sans CJK SC"
# Debian's NotoSansCJK-*.ttc order faces JP, KR, SC, TC, HK: SC is index 2.
KNOWN = {
    "Regular": [("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)],
    "Bold": [("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2)],
}


class FontMissing(DeviceAbsent):
    """No CJK font: receipts cannot be rendered."""


@lru_cache(maxsize=4)
def find_cjk_font(style: str = "Regular") -> tuple[str, int]:
    """Path and face index of Noto Sans CJK SC in ``style`` ("Regular" or "Bold").

    Raises:
        FontMissing: with the command that installs it.
    """
    fc_match = shutil.which("fc-match")
    if fc_match:
        try:
            out = subprocess.run(
                [fc_match, "-f", "%{file}\n%{index}\n%{family}", f"{FAMILY}:style={style}"],
                capture_output=True, text=True, timeout=10, check=True).stdout
            path, index, family = ([*out.split("\n"), "", "", ""])[:3]
            if "CJK" in family and Path(path).is_file():
                return path, int(index or 0)
        except (subprocess.SubprocessError, ValueError, OSError):
            pass
    for known_path, known_index in KNOWN.get(style, []):
        if Path(known_path).is_file():
            return known_path, known_index
    raise FontMissing(f"no CJK font ({FAMILY} {style}) found for printing receipts",
                      fix="install it: sudo apt install fonts-noto-cjk")
