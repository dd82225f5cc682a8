"""Build the screen's local assets at install time: a CJK font subset and spoken prompts.

- **Font**: Noto Sans CJK SC (Debian's ``fonts-noto-cjk``) cut down with fontTools to the
  characters the screen needs — every character of both catalogues and of the kit catalogue's
  names, the 3,755 common characters of GB 2312 level 1 (most producers' names), ASCII and
  CJK punctuation — regular and bold, about 0.8 MB each. Rarer characters fall back to the
  system's Noto CJK, then to any font.
- **Prompts**: one WAV per screen and language (``say.*`` in the catalogues), spoken by
  espeak-ng (Mandarin: the ``cmn-latn-pinyin`` voice).

Both are optional: the screen works with system fonts and without sound. The build is skipped
when its inputs have not changed (a stamp file holds their hash). Run it with
``nongan kiosk build-assets`` (``scripts/bootstrap`` does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from gateway.kits import load_catalogue

from .i18n import FOLDER as I18N_FOLDER
from .i18n import LANGUAGES, catalogue

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
GENERATED = STATIC / "generated"
FONT_FILES = {"Regular": "kiosk-sans-regular.otf", "Bold": "kiosk-sans-bold.otf"}
VOICES = {"zh-CN": ("cmn-latn-pinyin", "cmn"), "en": ("en-us", "en")}
SPEED_WPM = {"zh-CN": 150, "en": 155}
BUILD_VERSION = "1"  # bump when the build itself changes
PUNCTUATION = "，。、：；！？“”‘’（）《》【】…—·￥％＋－×÷～ "


@dataclass
class BuildReport:
    fonts: list[Path] = field(default_factory=list)
    prompts: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    up_to_date: bool = False


def gb2312_level1() -> str:
    """The 3,755 most common Chinese characters (GB 2312 level 1, rows 16-55)."""
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes((high, low)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


def screen_text() -> str:
    """Every character the screen can show from its own data."""
    parts = [text for language in LANGUAGES for text in catalogue(language).values()]
    cat = load_catalogue()
    for group in (cat.products.values(), cat.analytes.values(), cat.kits.values()):
        parts.extend(item.names.zh + item.names.en for item in group)
    from protocol.certificate_rules import PROMISE_TEXT, TITLE

    parts.extend([TITLE, *PROMISE_TEXT.values()])
    return "".join(parts)


def _inputs_hash() -> str:
    digest = hashlib.sha256(BUILD_VERSION.encode())
    for path in sorted(I18N_FOLDER.glob("*.toml")):
        digest.update(path.read_bytes())
    digest.update(screen_text().encode())
    return digest.hexdigest()


def build_font(out_dir: Path, text: str) -> list[Path]:
    """Subset Noto Sans CJK SC to ``text``; returns the files written.

    Raises:
        RuntimeError: fontTools or the Noto CJK font is missing (the message says how to get it).
    """
    try:
        from fontTools import subset
        from fontTools.ttLib import TTCollection
    except ImportError as exc:
        raise RuntimeError("fontTools is not installed (pip install fonttools)") from exc
    from device_drivers.printer.fonts import FontMissing, find_cjk_font

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for style, name in FONT_FILES.items():
        try:
            path, index = find_cjk_font(style)
        except FontMissing as exc:
            raise RuntimeError(str(exc)) from exc
        if path.endswith(".ttc"):
            font = TTCollection(path).fonts[index]
        else:
            from fontTools.ttLib import TTFont

            font = TTFont(path)
        options = subset.Options()
        options.layout_features = ["kern", "vert", "vrt2"]
        options.hinting = False
        options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        target = out_dir / name
        font.save(str(target))
        written.append(target)
    return written


def build_prompts(out_dir: Path) -> list[Path]:
    """Speak each screen's prompt in each language with espeak-ng; returns the files written.

    Raises:
        RuntimeError: espeak-ng is not installed.
    """
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        raise RuntimeError("espeak-ng is not installed (apt install espeak-ng)")
    voices = _available_voices(espeak)
    written = []
    for language in LANGUAGES:
        voice = next((v for v in VOICES[language] if v in voices), VOICES[language][-1])
        folder = out_dir / language
        folder.mkdir(parents=True, exist_ok=True)
        for key, text in catalogue(language).items():
            if not key.startswith("say."):
                continue
            target = folder / f"{key.removeprefix('say.')}.wav"
            subprocess.run([espeak, "-v", voice, "-s", str(SPEED_WPM[language]), "-w",
                            str(target), text], check=True, capture_output=True, timeout=60)
            written.append(target)
    return written


def _available_voices(espeak: str) -> set[str]:
    listing = subprocess.run([espeak, "--voices"], capture_output=True, text=True, timeout=30,
                             check=False).stdout
    voices = set()
    for line in listing.splitlines()[1:]:
        columns = line.split()
        if len(columns) >= 5:
            voices.add(columns[1])
            voices.add(columns[4].split("/")[-1])
    return voices


def build_assets(out_dir: Path = GENERATED, *, force: bool = False) -> BuildReport:
    """Build the font subset and the prompts into ``out_dir`` unless they are up to date.

    A part whose tool is missing is skipped (and reported), never fatal: the screen degrades
    to system fonts and silence.
    """
    report = BuildReport()
    stamp = out_dir / "build.json"
    wanted = _inputs_hash()
    if not force and stamp.is_file():
        try:
            done = json.loads(stamp.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            done = {}
        if done.get("inputs") == wanted and not done.get("skipped"):
            report.up_to_date = True
            return report
    out_dir.mkdir(parents=True, exist_ok=True)
    text = screen_text() + gb2312_level1() + "".join(map(chr, range(0x20, 0x7F))) + PUNCTUATION
    try:
        report.fonts = build_font(out_dir / "fonts", text)
    except RuntimeError as exc:
        report.skipped.append(f"font: {exc}")
    try:
        report.prompts = build_prompts(out_dir / "audio")
    except (RuntimeError, subprocess.SubprocessError, OSError) as exc:
        report.skipped.append(f"spoken prompts: {exc}")
    stamp.write_text(json.dumps({"inputs": wanted, "skipped": report.skipped}), encoding="utf-8")
    return report

