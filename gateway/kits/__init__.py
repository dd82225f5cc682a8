"""The kit catalogue: products -> analytes -> kits (cassette layout, decision rule, lots),
and the dated limits table. Data files live in ``gateway/kits/data``; see docs/scoring.md
for how to add a kit.
"""

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
from .simulation import sim_geometry

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
