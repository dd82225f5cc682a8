"""From the session's view to what a template draws: names in the person's language, notices,
refusals and reasons translated, the spoken prompt's file. No decisions are made here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.kits import Catalogue
from gateway.session import SessionView, Step, picture_for
from protocol.certificate_rules import PROMISE_TEXT
from protocol.messages import CertificateStyle

from .i18n import Translator


@dataclass(frozen=True)
class Names:
    """Catalogue names in one language."""

    catalogue: Catalogue
    english: bool

    def product(self, code: str | None) -> str:
        product = self.catalogue.products.get(code or "")
        if product is None:
            return code or ""
        return product.names.en if self.english else product.names.zh

    def analyte(self, code: str) -> str:
        analyte = self.catalogue.analytes.get(code)
        if analyte is None:
            return code
        return analyte.names.en if self.english else analyte.names.zh

    def kit(self, code: str | None) -> str:
        kit = self.catalogue.kits.get(code or "")
        if kit is None:
            return code or ""
        return kit.names.en if self.english else kit.names.zh


def notice_text(view: SessionView, t: Translator) -> str | None:
    if view.notice is None:
        return None
    params: dict[str, Any] = dict(view.notice.params)
    if "field" in params:
        params["field"] = t(f"field.{params['field']}")
    return t(view.notice.code, **params)


def refusal_texts(view: SessionView, t: Translator, names: Names) -> list[str]:
    texts = []
    for refusal in view.refusals:
        key = f"refusal.{refusal.code}"
        if not t.has(key):
            key = "refusal.other"
        text = t(key, kit=names.kit(refusal.kit_id) if refusal.kit_id else "")
        if text not in texts:
            texts.append(text)
    return texts


def reason_texts(codes: tuple[str, ...], t: Translator) -> list[str]:
    return [t(f"reason.{code}") for code in codes if t.has(f"reason.{code}")]


def prompt_files(static_dir: Path) -> frozenset[tuple[str, str]]:
    """The spoken prompts the build made, as (language, step) pairs; listed once, when the
    app is made (the screen works without any)."""
    audio = static_dir / "generated" / "audio"
    return frozenset((path.parent.name, path.stem) for path in audio.glob("*/*.wav")
                     if path.is_file())


def audio_url(prompts: frozenset[tuple[str, str]], language: str, step: Step) -> str | None:
    """The spoken prompt of a step, if the build made one."""
    if (language, step.value) not in prompts:
        return None
    return f"/static/generated/audio/{language}/{step.value}.wav"


def context(view: SessionView, catalogue: Catalogue, *, prompts: frozenset[tuple[str, str]],
            station_name: str, simulated: bool) -> dict[str, Any]:
    """Everything the templates use for ``view``."""
    t = Translator(view.language)
    names = Names(catalogue, english=view.language == "en")
    results = [
        {"analyte": r.analyte, "name": names.analyte(r.analyte), "call": r.call or "pending",
         "reasons": reason_texts(r.reason_codes, t)}
        for r in view.results
    ]
    test = view.test
    product = catalogue.products.get(view.product_code or "")
    return {
        "view": view,
        "step": view.step.value,
        "t": t,
        "names": names,
        "lang": view.language,
        "html_lang": "zh-CN" if view.language == "zh-CN" else "en",
        "notice": notice_text(view, t),
        "notice_error": view.notice is not None and view.notice.level == "error",
        "refusals": refusal_texts(view, t, names),
        "results": results,
        "unsure": [r for r in results if r["analyte"] in (test.analytes if test else ())
                   and r["call"] != "negative"],
        "positives": [r for r in results if r["call"] == "positive"],
        "unresolved": [r for r in results if r["call"] in ("suspect", "invalid")],
        "products": sorted(catalogue.products.values(), key=lambda p: (p.category, p.code)),
        "promise": PROMISE_TEXT[CertificateStyle.PRODUCER],
        "prep_picture": picture_for(test.prep_steps[test.prep_index])
        if test and test.prep_steps else None,
        "product_picture": product.picture if product else None,
        "audio": audio_url(prompts, view.language, view.step),
        "station_name": station_name,
        "simulated": simulated,
        "test_analyte_names": ("、" if view.language == "zh-CN" else ", ").join(
            names.analyte(a) for a in test.analytes) if test else "",
        "countdown": _countdown(test.remaining_s if test else None),
        "progress_pct": _progress(test.remaining_s, test.total_s) if test else 0,
    }


def _countdown(remaining: float | None) -> dict[str, int] | None:
    if remaining is None:
        return None
    whole = max(0, round(remaining))
    return {"minutes": whole // 60, "seconds": whole % 60}


def _progress(remaining: float | None, total: float | None) -> int:
    if not remaining or not total:
        return 0
    return max(0, min(100, round(100 * (1 - remaining / total))))
