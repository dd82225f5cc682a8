"""The kit catalogue: products -> analytes -> kits (cassette layout, decision rule, lots),
and the dated limits table. Data files live in ``gateway/kits/data``; see docs/scoring.md
for how to add a kit.
"""

from typing import TYPE_CHECKING, Any

from .catalogue import (
    DEFAULT_PATH,
    Catalogue,
    KitCatalogueError,
    LotExpiredError,
    UnknownCodeError,
    load_catalogue,
)
from .models import (
    Analyte,
    CassetteLayout,
    Decision,
    Format,
    Kit,
    Limit,
    Lot,
    Mode,
    Names,
    Product,
    WindowLayout,
)

if TYPE_CHECKING:
    from .simulation import sim_geometry


def __getattr__(name: str) -> Any:
    # sim_geometry needs the strip simulator (and so OpenCV): loaded only when asked for, so
    # that reading the catalogue stays quick.
    if name == "sim_geometry":
        from .simulation import sim_geometry

        return sim_geometry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_PATH",
    "Analyte",
    "CassetteLayout",
    "Catalogue",
    "Decision",
    "Format",
    "Kit",
    "KitCatalogueError",
    "Limit",
    "Lot",
    "LotExpiredError",
    "Mode",
    "Names",
    "Product",
    "UnknownCodeError",
    "WindowLayout",
    "load_catalogue",
    "sim_geometry",
]
