"""Sample preparation shown before each cassette, step by step, by product category.

Each step is a code the UI translates and draws (its picture is named after the step's last
part). The wording follows the common colloidal-gold kit inserts; each kit's own insert
remains the authority, and the last step always says so.
"""

from __future__ import annotations

PLANT = ("prep.plant.cut", "prep.plant.extract", "prep.plant.settle", "prep.common.drop")
EGGS = ("prep.eggs.crack", "prep.eggs.extract", "prep.eggs.settle", "prep.common.drop")
TISSUE = ("prep.tissue.cut", "prep.tissue.extract", "prep.tissue.settle", "prep.common.drop")
URINE = ("prep.urine.collect", "prep.urine.settle", "prep.common.drop")

STEPS_BY_CATEGORY: dict[str, tuple[str, ...]] = {
    "vegetable": PLANT,
    "fruit": PLANT,
    "tea": PLANT,
    "eggs": EGGS,
    "poultry": TISSUE,
    "aquatic": TISSUE,
    # Live cattle and sheep are tested for beta-agonists in urine at the farm gate.
    "livestock": URINE,
}



def steps_for(category: str) -> tuple[str, ...]:
    """The preparation steps for a product category (plant steps if unknown)."""
    return STEPS_BY_CATEGORY.get(category, PLANT)


def picture_for(step: str) -> str:
    """The picture's name (without extension) drawn for a step."""
    return step.rsplit(".", 1)[-1]
