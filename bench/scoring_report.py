"""The benchmark's figures and the table it prints (see bench/scoring.py)."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from gateway.kits import Kit
from protocol.messages import Call


class Bench(Protocol):
    """What the report needs of bench/scoring.py's run (no import back: no circle)."""

    readings: list[Reading]
    scenes: int
    kits: dict[str, Kit]

KIOSK_BURST = 5  # frames per kiosk reading (bench/scoring.py renders this many)
SINGLE, CARD4, CARD3 = "gold-procymidone-v1", "card-aquatic-4in1-v1", "card-beta-agonists-3in1-v1"
TARGETS = {"mae": 0.03, "agreement": 0.995, "sensitivity": 0.99, "specificity": 0.98,
           "bad_rejected": 0.99, "good_rejected": 0.01, "cv": 0.03, "ms": 25.0, "mb": 150.0}


@dataclass
class Reading:
    """One window of one scene: the truth and what each reader said."""

    group: str
    truth: float | None  # true T/C (None without a C line)
    low: float
    high: float
    call: Call
    ratio: float | None
    codes: list[str]
    naive_call: Call
    naive_ratio: float | None
    expected_reason: str | None = None
    burst_call: Call | None = None  # the same scene read from a burst (random good set)
    burst_ratio: float | None = None
    veiled: bool | None = None  # veil sets: whether this window is the one under the veil
    strength: float | None = None  # ... and the veil's peak over the membrane's light
    exposure: float | None = None  # exposure set: the scene's exposure (x nominal)
    recaptured_call: Call | None = None  # ... read as the kiosk reads it (taken again at the
    recaptured_ratio: float | None = None  # advised exposure when it would be refused)
    recaptured_codes: list[str] | None = None
    recaptured_exposure: float | None = None


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score 95 % interval of a proportion."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (max(0.0, centre - half), min(1.0, centre + half))


def expected_call(truth: float, low: float, high: float) -> Call | None:
    """Competitive kits: below the lower cut-off positive, at or above the upper negative."""
    if truth < low:
        return Call.POSITIVE
    if truth >= high:
        return Call.NEGATIVE
    return None


def wrong_confident(call: Call, r: Reading) -> bool:
    """A positive or negative call other than the truth's (a truth in the suspect band
    deserves no confident call at all)."""
    if r.truth is None or call not in (Call.POSITIVE, Call.NEGATIVE):
        return False
    return call is not (expected_call(r.truth, r.low, r.high) or Call.SUSPECT)


def opposite_call(call: Call, r: Reading) -> bool:
    """Positive for a truth below the lower cut-off's opposite, or the reverse."""
    if r.truth is None:
        return False
    e = expected_call(r.truth, r.low, r.high)
    return (e, call) in ((Call.POSITIVE, Call.NEGATIVE), (Call.NEGATIVE, Call.POSITIVE))


def pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.2f}%"


def ratio_text(ours: float, naive: float, lower_is_better: bool = True) -> str:
    if ours != ours or naive != naive or ours == 0 or naive == 0:
        return "-"
    r = naive / ours if lower_is_better else ours / naive
    return f"x{r:.1f}"


def report(bench: Bench, rep: dict[str, float], flat: dict[str, float],
           burst: dict[str, float], timing: dict[str, float], mem: dict[str, float],
           mem_naive: dict[str, float], field: dict[str, object]) -> dict[str, object]:
    rs = bench.readings
    good = [r for r in rs if r.group in ("good", "jpeg_mix", "challenge_pos", "challenge_neg")
            or r.group.startswith("ladder:")]
    main_set = [r for r in rs if r.group == "good"]
    jpeg_set = [r for r in rs if r.group == "jpeg_mix"]
    # The same random good scenes read as the kiosk reads them: a burst of frames.
    burst_set = [replace(r, call=r.burst_call, ratio=r.burst_ratio) for r in main_set
                 if r.burst_call is not None]

    def mae(items: list[Reading], naive: bool) -> tuple[float, int]:
        errs = [abs((r.naive_ratio if naive else r.ratio) - r.truth) for r in items
                if (r.naive_ratio if naive else r.ratio) is not None and r.truth is not None
                and (r.naive_call if naive else r.call) is not Call.INVALID]
        return (float(np.mean(errs)) if errs else float("nan"), len(errs))

    def agreement(items: list[Reading], naive: bool) -> tuple[float, int, int]:
        scored = [(r, expected_call(r.truth, r.low, r.high)) for r in items
                  if r.truth is not None]
        scored = [(r, e) for r, e in scored if e is not None]
        hits = sum((r.naive_call if naive else r.call) is e for r, e in scored)
        return (hits / len(scored) if scored else float("nan"), hits, len(scored))

    def rate(items: list[Reading], ok, naive: bool) -> tuple[float, int, int]:
        hits = sum(ok(r.naive_call if naive else r.call, r) for r in items)
        return (hits / len(items) if items else float("nan"), hits, len(items))

    mae_o, n_mae = mae(main_set, False)
    mae_n, _ = mae(main_set, True)
    agr_o, agr_hits, agr_n = agreement(main_set, False)
    agr_n_, _, _ = agreement(main_set, True)
    mae_b, _ = mae(burst_set, False)
    agr_b, agr_b_hits, agr_b_n = agreement(burst_set, False)
    mae_j, n_mae_j = mae(jpeg_set, False)
    mae_jn, _ = mae(jpeg_set, True)
    agr_j, agr_j_hits, agr_j_n = agreement(jpeg_set, False)
    agr_jn, _, _ = agreement(jpeg_set, True)

    def opposite(items: list[Reading], naive: bool) -> int:
        """Outside the band, calls on the wrong side (positive for negative or vice versa)."""
        flip = {Call.POSITIVE: Call.NEGATIVE, Call.NEGATIVE: Call.POSITIVE}
        return sum((r.naive_call if naive else r.call) is flip[e] for r in items
                   if r.truth is not None
                   and (e := expected_call(r.truth, r.low, r.high)) is not None)
    opp_o, opp_n = opposite(main_set, False), opposite(main_set, True)
    opp_b, opp_j = opposite(burst_set, False), opposite(jpeg_set, False)
    pos = [r for r in rs if r.group == "challenge_pos"]
    neg = [r for r in rs if r.group == "challenge_neg"]
    sens = rate(pos, lambda c, r: c is Call.POSITIVE, False)
    sens_n = rate(pos, lambda c, r: c is Call.POSITIVE, True)
    spec = rate(neg, lambda c, r: c is Call.NEGATIVE, False)
    spec_n = rate(neg, lambda c, r: c is Call.NEGATIVE, True)
    fnr = rate(pos, lambda c, r: c is Call.NEGATIVE, False)
    fpr = rate(neg, lambda c, r: c is Call.POSITIVE, False)
    no_c = [r for r in rs if r.group == "no_c"]
    noc = rate(no_c, lambda c, r: c is Call.INVALID, False)
    noc_n = rate(no_c, lambda c, r: c is Call.INVALID, True)
    bad = [r for r in rs if r.group.startswith("bad:")]
    bad_right = rate(bad, lambda c, r: c is Call.INVALID and r.expected_reason in r.codes, False)
    bad_any = rate(bad, lambda c, r: c is Call.INVALID, False)
    bad_n = rate(bad, lambda c, r: c is Call.INVALID, True)
    good_rej = rate(good, lambda c, r: c is Call.INVALID, False)
    good_rej_n = rate(good, lambda c, r: c is Call.INVALID, True)
    bad_never_negative = sum(r.call is Call.NEGATIVE for r in bad + no_c)

    def lod(naive: bool) -> tuple[float | None, dict[str, float]]:
        by_level: dict[str, list[Reading]] = defaultdict(list)
        for r in rs:
            if r.group.startswith("ladder:"):
                by_level[r.group.split(":")[1]].append(r)
        shares = {lv: sum((r.naive_call if naive else r.call) is Call.POSITIVE for r in items)
                  / len(items) for lv, items in sorted(by_level.items())}
        detected = [float(lv) for lv, share in shares.items() if share >= 0.95]
        # The lowest level from which every higher level is also detected.
        levels = sorted(float(lv) for lv in shares)
        lowest = None
        for lv in reversed(levels):
            if lv in detected:
                lowest = lv
            else:
                break
        return lowest, shares

    lod_o, shares_o = lod(False)
    lod_n, shares_n = lod(True)

    def ok(flag: bool) -> str:
        return "PASS" if flag else "FAIL"

    print(f"\nscenes: {bench.scenes}; window readings: {len(rs)} "
          f"(good {len(main_set)} random + {len(pos) + len(neg)} at cut-off +-20% + "
          f"{len([r for r in rs if r.group.startswith('ladder:')])} inhibition ladder; "
          f"no C line {len(no_c)}; bad quality {len(bad)})")
    print(f"kits: {SINGLE} (tc_ratio {bench.kits[SINGLE].decision.cutoff_low:.2f}/"
          f"{bench.kits[SINGLE].decision.cutoff_high:.2f}), {CARD4} (4 windows, per-window "
          f"cut-offs), {CARD3} (3 windows, t_disappearance)")
    print("truth T/C uniform 0-1.5, C line OD 0.3-0.9; nuisances drawn at random "
          "(device_drivers.strip_sim.KIOSK_CAPTURE: the kiosk camera's lossless, demosaiced "
          "frames; the JPEG-mix rows use the default NuisanceRanges, 80% JPEG)\n")
    w = 46
    print(f"{'figure':{w}s} {'ours':>18s} {'naive':>16s} {'gain':>7s}  target")
    rows = [
        ("T/C mean absolute error", f"{mae_o:.4f}", f"{mae_n:.4f}", ratio_text(mae_o, mae_n),
         f"<= {TARGETS['mae']} {ok(mae_o <= TARGETS['mae'])}"),
        (f"call agreement outside suspect band (n={agr_n})", pct(agr_o), pct(agr_n_),
         ratio_text(1 - agr_o, 1 - agr_n_), f">= 99.5% {ok(agr_o >= TARGETS['agreement'])}"),
        ("  of which opposite calls (pos<->neg)", str(opp_o), str(opp_n), "", "(report)"),
        (f"T/C MAE, kiosk burst of {KIOSK_BURST} frames", f"{mae_b:.4f}", "", "",
         f"<= {TARGETS['mae']} {ok(mae_b <= TARGETS['mae'])}"),
        (f"call agreement, kiosk burst (n={agr_b_n})", pct(agr_b), "", "",
         f">= 99.5% {ok(agr_b >= TARGETS['agreement'])}"),
        ("  of which opposite calls (pos<->neg)", str(opp_b), "", "", "(report)"),
        (f"JPEG-mix frames: T/C MAE (n={n_mae_j})", f"{mae_j:.4f}", f"{mae_jn:.4f}",
         ratio_text(mae_j, mae_jn), f"<= {TARGETS['mae']} {ok(mae_j <= TARGETS['mae'])}"),
        (f"JPEG-mix frames: call agreement (n={agr_j_n})", pct(agr_j), pct(agr_jn),
         ratio_text(1 - agr_j, 1 - agr_jn), f">= 99.5% {ok(agr_j >= TARGETS['agreement'])}"),
        ("  of which opposite calls (pos<->neg)", str(opp_j), "", "", "(report)"),
        (f"sensitivity at 0.8 x cut-off (n={sens[2]})", pct(sens[0]), pct(sens_n[0]), "",
         f">= 99% {ok(sens[0] >= TARGETS['sensitivity'])}"),
        ("  Wilson 95% interval", "{:.2%}-{:.2%}".format(*wilson(sens[1], sens[2])),
         "{:.2%}-{:.2%}".format(*wilson(sens_n[1], sens_n[2])), "", ""),
        (f"specificity at 1.2 x cut-off (n={spec[2]})", pct(spec[0]), pct(spec_n[0]), "",
         f">= 98% {ok(spec[0] >= TARGETS['specificity'])}"),
        ("  Wilson 95% interval", "{:.2%}-{:.2%}".format(*wilson(spec[1], spec[2])),
         "{:.2%}-{:.2%}".format(*wilson(spec_n[1], spec_n[2])), "", ""),
        ("false-negative rate at 0.8 x cut-off", pct(fnr[0]), "", "", "<= 1% (regulator)"),
        ("false-positive rate at 1.2 x cut-off", pct(fpr[0]), "", "", "<= 15% (regulator)"),
        ("lowest inhibition detected in >= 95%",
         "n/a" if lod_o is None else f"{lod_o:.0%}",
         "n/a" if lod_n is None else f"{lod_n:.0%}", "", "(report)"),
        (f"no-C scenes called invalid (n={noc[2]})", pct(noc[0]), pct(noc_n[0]), "",
         f"100% {ok(noc[1] == noc[2])}"),
        (f"bad-quality rejected, right reason (n={bad_right[2]})", pct(bad_right[0]), "", "",
         f">= 99% {ok(bad_right[0] >= TARGETS['bad_rejected'])}"),
        ("bad-quality rejected, any reason", pct(bad_any[0]), pct(bad_n[0]),
         "", ""),
        ("bad-quality or no-C scenes called negative", str(bad_never_negative),
         str(sum(r.naive_call is Call.NEGATIVE for r in bad + no_c)), "", "0"),
        (f"good scenes wrongly rejected (n={good_rej[2]})", pct(good_rej[0]),
         pct(good_rej_n[0]), "", f"< 1% {ok(good_rej[0] < TARGETS['good_rejected'])}"),
        ("repeatability CV of T/C (1 strip, 20 placements)", pct(rep["cv"]),
         pct(rep["cv_naive"]), ratio_text(rep["cv"], rep["cv_naive"]),
         f"<= 3% {ok(rep['cv'] <= TARGETS['cv'])}"),
        (f"ms per 1280x960 frame, mean (n={timing['frames']})", f"{timing['ms_mean']:.1f}",
         f"{timing['naive_ms_mean']:.1f}",
         ratio_text(timing["naive_ms_mean"], timing["ms_mean"], lower_is_better=False),
         f"<= 25 {ok(timing['ms_mean'] <= TARGETS['ms'])}"),
        ("ms per frame, p95 / max", f"{timing['ms_p95']:.1f} / {timing['ms_max']:.1f}",
         "", "", ""),
        ("peak memory of the scoring process, MB", f"{mem['peak_mb']:.0f}",
         f"{mem_naive['peak_mb']:.0f}", "", f"<= 150 {ok(mem['peak_mb'] <= TARGETS['mb'])}"),
        ("  of which imports (numpy, OpenCV, pydantic)", f"{mem['after_import_mb']:.0f}",
         f"{mem_naive['after_import_mb']:.0f}", "", ""),
    ]
    for name, a, b, g, t in rows:
        print(f"{name:{w}s} {a:>18s} {b:>16s} {g:>7s}  {t}")

    conditions_figures = conditions(rs, mae_o)

    print("\nper bad-quality gate (rejected with the right reason / scenes; other reasons):")
    by_gate: dict[str, list[Reading]] = defaultdict(list)
    for r in bad:
        by_gate[r.group.split(":")[1]].append(r)
    for gate, items in by_gate.items():
        right = sum(r.call is Call.INVALID and r.expected_reason in r.codes for r in items)
        other = Counter(",".join(r.codes) or r.call.value for r in items
                        if not (r.call is Call.INVALID and r.expected_reason in r.codes))
        print(f"  {gate:13s} {right}/{len(items)}  {dict(other) if other else ''}")
    rejected = Counter(",".join(r.codes) for r in good if r.call is Call.INVALID)
    if rejected:
        print(f"good scenes rejected, by reason: {dict(rejected)}")
    print("\ninhibition ladder, share called positive (ours / naive; kit blank T/C "
          f"{bench.kits[SINGLE].blank_t_c}, cut-offs "
          f"{bench.kits[SINGLE].decision.cutoff_low}/{bench.kits[SINGLE].decision.cutoff_high}):")
    print("  " + "  ".join(f"{float(lv):.0%}: {shares_o[lv]:.0%}/{shares_n[lv]:.0%}"
                           for lv in shares_o))
    for label, items in (("single frame", main_set), ("kiosk burst", burst_set),
                         ("JPEG-mix", jpeg_set)):
        misses = [(r.truth, r.ratio, r.call.value, r.low, r.high) for r in items
                  if r.truth is not None and expected_call(r.truth, r.low, r.high) is not None
                  and r.call is not expected_call(r.truth, r.low, r.high)]
        if misses:
            print(f"disagreements outside the band, {label} (truth -> measured, call; "
                  "cut-offs): " + "; ".join(
                      f"{t:.3f}->{'-' if m is None else f'{m:.3f}'} {c} ({lo}/{hi})"
                      for t, m, c, lo, hi in misses[:12]))
    calls = Counter(r.call.value for r in main_set)
    print(f"\nrandom good set: calls {dict(calls)}; MAE over {n_mae} readings; "
          f"agreement {agr_hits}/{agr_n} (single frame), {agr_b_hits}/{agr_b_n} (burst); "
          f"JPEG-mix agreement {agr_j_hits}/{agr_j_n}")
    print(f"bursts of 5 frames (n={burst['n']}): MAE {burst['mae_burst']:.4f} vs single frame "
          f"{burst['mae_single']:.4f}; median T/C spread {burst['spread_median']:.4f}")
    print(f"flat field, LED ripple 5% (n={flat['n']}): MAE without {flat['mae_raw']:.4f}, "
          f"with flat field {flat['mae_flat']:.4f}")
    print("\nfield images (../shared/field-images):")
    for line in field.get("lines", []):  # type: ignore[union-attr]
        print(f"  {line}")
    return {
        "mae": mae_o, "mae_naive": mae_n, "agreement": agr_o, "agreement_naive": agr_n_,
        "mae_burst": mae_b, "agreement_burst": agr_b, "opposite_calls_burst": opp_b,
        "mae_jpeg_mix": mae_j, "agreement_jpeg_mix": agr_j, "opposite_calls_jpeg_mix": opp_j,
        "opposite_calls": opp_o, "opposite_calls_naive": opp_n,
        "sensitivity": sens[0], "sensitivity_ci": wilson(sens[1], sens[2]),
        "specificity": spec[0], "specificity_ci": wilson(spec[1], spec[2]),
        "sensitivity_naive": sens_n[0], "specificity_naive": spec_n[0],
        "lod": lod_o, "lod_naive": lod_n, "no_c_invalid": noc[0],
        "bad_rejected_right": bad_right[0], "good_rejected": good_rej[0],
        "cv": rep["cv"], "cv_naive": rep["cv_naive"], **timing, **{f"mem_{k}": v
                                                                   for k, v in mem.items()},
        "flat": flat, "burst": burst, "field": {k: v for k, v in field.items() if k != "lines"},
        "jpeg_mix_agreement_ci": wilson(agr_j_hits, agr_j_n), **conditions_figures,
    }


def _interval(hits: int, n: int) -> str:
    low, high = wilson(hits, n)
    share = pct(hits / n if n else float("nan"))
    return f"{hits}/{n} = {share} (Wilson 95 %: {pct(low)}-{pct(high)})"


def _veil_set(name: str, items: list[Reading]) -> dict[str, object]:
    """Refusals, and what the accepted veiled windows were called."""
    veiled = [r for r in items if r.veiled]
    others = [r for r in items if r.veiled is False]
    refused = [r for r in veiled if r.call is Call.INVALID]
    glare_first = sum(bool(r.codes) and r.codes[0] == "glare" for r in refused)
    accepted = [r for r in veiled if r.call is not Call.INVALID]
    wrong = [r for r in accepted if wrong_confident(r.call, r)]
    opposite = [r for r in accepted if opposite_call(r.call, r)]
    errs = [abs(r.ratio - r.truth) for r in accepted if r.ratio is not None and r.truth is not None]
    print(f"\n{name}: {len(veiled)} veiled windows")
    print(f"  refused {_interval(len(refused), len(veiled))}; the first reason is glare in "
          f"{glare_first}/{len(refused)} (others: "
          f"{dict(Counter(r.codes[0] for r in refused if r.codes and r.codes[0] != 'glare'))})")
    mae = float(np.mean(errs)) if errs else float("nan")
    largest = max(errs) if errs else float("nan")
    print(f"  accepted {len(accepted)}: wrong confident calls "
          f"{_interval(len(wrong), len(accepted))}; opposite calls {len(opposite)}; "
          f"T/C MAE {mae:.4f}, largest error {largest:.3f}")
    bins = ((0.03, 0.1), (0.1, 0.25), (0.25, 0.51))
    shares = []
    for lo, hi in bins:
        b = [r for r in veiled if r.strength is not None and lo <= r.strength < hi]
        shares.append(f"+{lo:.0%}-{min(hi, 0.5):.0%}: refused "
                      f"{sum(r.call is Call.INVALID for r in b)}/{len(b)}")
    print("  by strength: " + "; ".join(shares))
    for r in wrong[:8]:
        print(f"    wrong: truth {r.truth:.3f} read {r.ratio:.3f} {r.call.value} "
              f"(veil +{(r.strength or 0):.0%})")
    if others:
        o_ref = sum(r.call is Call.INVALID for r in others)
        o_agree = [r for r in others if r.truth is not None
                   and expected_call(r.truth, r.low, r.high) is not None]
        hits = sum(r.call is expected_call(r.truth, r.low, r.high) for r in o_agree
                   if r.truth is not None)
        print(f"  the cards' other windows ({len(others)}): refused {o_ref}; call agreement "
              f"outside the band {hits}/{len(o_agree)}")
    return {"veiled": len(veiled), "refused": len(refused), "refused_glare_first": glare_first,
            "accepted": len(accepted), "wrong_confident": len(wrong),
            "wrong_confident_ci": wilson(len(wrong), len(accepted)),
            "opposite": len(opposite), "mae_accepted": float(np.mean(errs)) if errs else None}


def conditions(rs: list[Reading], main_mae: float) -> dict[str, object]:
    """The veil, JPEG-veil and exposure sets (issue 13), each on its own."""
    out: dict[str, object] = {}
    veil = [r for r in rs if r.group == "veil"]
    if veil:
        out["veil"] = _veil_set("VEIL GLARE over one window (kiosk frames, lossless)", veil)
    vj = [r for r in rs if r.group == "veil_jpeg"]
    clean = [r for r in rs if r.group == "clean_jpeg"]
    if vj:
        out["veil_jpeg"] = _veil_set("VEIL GLARE on JPEG frames (single strips)", vj)
        glare = sum("glare" in r.codes for r in clean)
        print(f"  clean JPEG frames refused as glare: {_interval(glare, len(clean))}")
        out["clean_jpeg_glare"] = glare / len(clean) if clean else None
    exp = [r for r in rs if r.group == "exposure"]
    if exp:
        out["exposure"] = _exposure_set(exp, main_mae)
    return out


def _outcome(items: list[Reading], calls: list[Call | None], ratios: list[float | None],
             codes: list[list[str]], label: str, main_mae: float) -> dict[str, object]:
    """Read, refused (by first reason), MAE and calls of one way of reading the set."""
    read = [abs(ra - r.truth) for r, c, ra in zip(items, calls, ratios, strict=True)
            if c not in (None, Call.INVALID) and ra is not None and r.truth is not None]
    scored = [(r, c) for r, c in zip(items, calls, strict=True)
              if r.truth is not None and expected_call(r.truth, r.low, r.high) is not None]
    hits = sum(c is expected_call(r.truth, r.low, r.high) for r, c in scored
               if r.truth is not None)
    refusals = Counter(cs[0] if cs else "?" for c, cs in zip(calls, codes, strict=True)
                       if c is Call.INVALID)
    wrong = sum(wrong_confident(c, r) for r, c in zip(items, calls, strict=True) if c)
    opposite = sum(opposite_call(c, r) for r, c in zip(items, calls, strict=True) if c)
    mae = float(np.mean(read)) if read else float("nan")
    print(f"  {label}: read {len(read)}/{len(items)}, T/C MAE {mae:.4f} (main set "
          f"{main_mae:.4f}); agreement outside the band {_interval(hits, len(scored))}; wrong "
          f"confident {wrong}, opposite {opposite}; refused, by first reason {dict(refusals)}")
    return {"read": len(read), "mae": mae, "agreement": hits / len(scored) if scored else None,
            "refused": dict(refusals), "glare_refusals": refusals.get("glare", 0),
            "wrong_confident": wrong, "opposite": opposite}


def _exposure_set(items: list[Reading], main_mae: float) -> dict[str, object]:
    print(f"\nEXPOSURE 0.5-1.6 x nominal ({len(items)} windows, kiosk frames)")
    once = _outcome(items, [r.call for r in items], [r.ratio for r in items],
                    [r.codes for r in items], "one capture", main_mae)
    kiosk = _outcome(items, [r.recaptured_call for r in items],
                     [r.recaptured_ratio for r in items],
                     [r.recaptured_codes or [] for r in items],
                     "as the kiosk reads it (taken again at the advised exposure)", main_mae)
    retaken = sum(r.recaptured_exposure is not None and r.exposure is not None
                  and abs(r.recaptured_exposure - r.exposure) > 1e-9 for r in items)
    print(f"  taken again: {retaken}/{len(items)} windows")
    parts = []
    for lo, hi in ((0.5, 0.8), (0.8, 1.2), (1.2, 1.4), (1.4, 1.61)):
        b = [r for r in items if r.exposure is not None and lo <= r.exposure < hi]
        errs = [abs(r.ratio - r.truth) for r in b if r.call is not Call.INVALID
                and r.ratio is not None and r.truth is not None]
        kiosk_errs = [abs(r.recaptured_ratio - r.truth) for r in b
                      if r.recaptured_call not in (None, Call.INVALID)
                      and r.recaptured_ratio is not None and r.truth is not None]
        parts.append(f"{lo}-{min(hi, 1.6)}x: read once {len(errs)}/{len(b)}"
                     f" (MAE {np.mean(errs) if errs else float('nan'):.4f}), by the kiosk "
                     f"{len(kiosk_errs)} (MAE "
                     f"{np.mean(kiosk_errs) if kiosk_errs else float('nan'):.4f})")
    print("  by exposure:\n    " + "\n    ".join(parts))
    return {"once": once, "kiosk": kiosk, "retaken": retaken}
