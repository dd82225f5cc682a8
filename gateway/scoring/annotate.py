"""The annotated image of a reading: cassette and window outlines, C and T marks, and each
window's absorbance profile plotted beside it, with the call. For people reviewing a reading;
the figures themselves are in the result."""

from __future__ import annotations

import cv2
import numpy as np

from gateway.kits.models import Kit
from protocol.messages import Call

from ._locate import Located
from ._window import WindowMeasure
from .result import ScoreResult

COLOURS = {Call.NEGATIVE: (60, 160, 40), Call.POSITIVE: (40, 40, 220),
           Call.SUSPECT: (0, 170, 230), Call.INVALID: (150, 150, 150)}
PLOT_W, PLOT_H = 300, 110


def draw(frame: np.ndarray, located: Located, measures: dict[int, WindowMeasure],
         kit: Kit) -> np.ndarray:
    """A copy of ``frame`` with the cassette, windows, lines and profiles drawn."""
    img = frame.copy()
    font = cv2.FONT_HERSHEY_SIMPLEX
    if located.pose is None:
        cv2.putText(img, ", ".join(str(p) for p in located.problems) or "no cassette",
                    (20, 40), font, 1.0, (0, 0, 255), 2, cv2.LINE_AA)
        return img
    hl, hw = kit.cassette.size_mm[0] / 2, kit.cassette.size_mm[1] / 2
    outline = located.pose.to_frame(np.array([[-hl, -hw], [hl, -hw], [hl, hw], [-hl, hw]]))
    cv2.polylines(img, [np.round(outline).astype(np.int32)], True, (255, 160, 0), 2,
                  cv2.LINE_AA)
    for i, m in measures.items():
        if m.corners_px is None:
            continue
        cv2.polylines(img, [np.round(m.corners_px).astype(np.int32)], True, (0, 220, 255), 1,
                      cv2.LINE_AA)
        prof = m.profile
        if prof is None or m.origin_px is None or m.axis_px is None:
            continue
        normal = np.array([-m.axis_px[1], m.axis_px[0]])
        half = kit.cassette.windows[i].size_mm[1] / 2 * located.pose.scale
        for name, line in (("C", prof.c), ("T", prof.t)):
            if line is None:
                continue
            # Marks below the window (cassettes print their own C/T labels above it).
            p = m.origin_px + m.axis_px * line.position_px
            a, b = p + normal * (half + 6), p + normal * (half + 16)
            cv2.line(img, tuple(int(v) for v in np.round(a)), tuple(int(v) for v in np.round(b)),
                     (0, 0, 255) if name == "T" else (255, 0, 0), 2, cv2.LINE_AA)
            cv2.putText(img, f"{name} {line.od:.3f}",
                        tuple(int(v) for v in np.round(b + np.array([-20.0, 14.0]))),
                        font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        _plot(img, prof.absorbance, prof.x_mm, i, kit)
    return img


def _plot(img: np.ndarray, absorbance: np.ndarray, x_mm: np.ndarray, index: int,
          kit: Kit) -> None:
    """Profile plot in the frame's top-left corner, one row per window."""
    x0, y0 = 10, 10 + index * (PLOT_H + 10)
    if y0 + PLOT_H > img.shape[0] or x0 + PLOT_W > img.shape[1]:
        return
    panel = img[y0:y0 + PLOT_H, x0:x0 + PLOT_W]
    panel[:] = (panel * 0.3 + 255 * 0.7).astype(np.uint8)
    top = max(float(absorbance.max()), 0.05)
    xs = (x_mm - x_mm.min()) / max(float(np.ptp(x_mm)), 1e-9) * (PLOT_W - 10) + 5
    ys = PLOT_H - 10 - np.clip(absorbance / top, -0.1, 1.05) * (PLOT_H - 25)
    pts = np.stack([xs, ys], axis=1).round().astype(np.int32)
    zero = int(PLOT_H - 10)
    cv2.line(panel, (5, zero), (PLOT_W - 5, zero), (160, 160, 160), 1)
    cv2.polylines(panel, [pts], False, (90, 30, 120), 1, cv2.LINE_AA)
    cv2.putText(panel, f"window {index} {kit.analytes[index]}", (6, 14),
                cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)


def label_calls(img: np.ndarray, results: list[ScoreResult]) -> None:
    """Write each window's call and T/C into its plot panel (in place)."""
    for r in results:
        x0, y0 = 10, 10 + r.window * (PLOT_H + 10)
        if y0 + PLOT_H > img.shape[0]:
            continue
        ratio = "-" if r.t_c_ratio is None else f"{r.t_c_ratio:.3f}"
        text = f"{r.call.value.upper()}  T/C {ratio}"
        cv2.putText(img, text, (x0 + 6, y0 + 30), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    COLOURS[r.call], 2, cv2.LINE_AA)
        if r.call is Call.INVALID and r.reason_codes:
            cv2.putText(img, ", ".join(r.reason_codes)[:40], (x0 + 6, y0 + 48),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.4, COLOURS[r.call], 1, cv2.LINE_AA)
