"""Which cassettes test a lot's panel: the fewest kits that are ready now.

The panel is the product's analytes from the catalogue plus those the producer declares they
used ("test what you used"). For each analyte still to cover, the planner takes the ready kit
that covers most of the remaining panel (a 3-in-1 card beats three single strips), so stock
decides between a card and single strips. An analyte no ready kit can test is reported with
the station's refusals for its kits: the session then refuses the test and says why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..kits import Catalogue
from ..station import Refusal

CROP_CATEGORIES = frozenset({"vegetable", "fruit", "tea"})


@dataclass(frozen=True, slots=True)
class PlannedTest:
    kit_id: str
    analytes: tuple[str, ...]


def plan_panel(catalogue: Catalogue, analytes: Sequence[str],
               refusals_for: Callable[[str], list[Refusal]]
               ) -> tuple[list[PlannedTest], dict[str, list[Refusal]]]:
    """Plan the cassettes for ``analytes`` (in order).

    Args:
        catalogue: the kit catalogue.
        analytes: the panel, without duplicates.
        refusals_for: the station's readiness check for one kit (empty: ready). Blocking.

    Returns:
        The planned tests, and for each analyte that cannot be tested now, why.
    """
    cache: dict[str, list[Refusal]] = {}

    def refusals(kit_id: str) -> list[Refusal]:
        if kit_id not in cache:
            cache[kit_id] = refusals_for(kit_id)
        return cache[kit_id]

    remaining = list(dict.fromkeys(analytes))
    plan: list[PlannedTest] = []
    blocked: dict[str, list[Refusal]] = {}
    while remaining:
        analyte = remaining[0]
        kits = catalogue.kits_for(analyte)
        ready = [k for k in kits if not refusals(k.id)]
        if not ready:
            # Say the most useful why: "expired" beats "no stock" of some other kit.
            found = [r for k in kits for r in refusals(k.id)]
            useful = [r for r in found if r.code != "no_stock"] or found[:1]
            blocked[analyte] = list(dict.fromkeys(useful))
            remaining.pop(0)
            continue
        best = max(ready, key=lambda k: (len(set(k.analytes) & set(remaining)), -k.windows))
        covered = tuple(a for a in remaining if a in best.analytes)
        plan.append(PlannedTest(best.id, covered))
        remaining = [a for a in remaining if a not in covered]
    return plan, blocked


def extra_choices(catalogue: Catalogue, product_code: str) -> list[str]:
    """Analytes a producer may add to the panel: those offered for products of the same
    kind (crops or animals) that the product's own panel does not already hold."""
    product = catalogue.product(product_code)
    crop = product.category in CROP_CATEGORIES
    seen: dict[str, None] = {}
    for other in catalogue.products.values():
        if (other.category in CROP_CATEGORIES) == crop:
            for analyte in other.analytes:
                if analyte not in product.analytes:
                    seen[analyte] = None
    return list(seen)
