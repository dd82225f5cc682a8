"""Kit box labels: reading the code on a box of test strips and registering the box in stock.

Two label forms are read (``parse_label``): the GS1 element string a maker prints on its boxes
— AIs (01) GTIN, (10) lot, (17) expiry, and optionally (21) serial and (30) strip count, raw
with GS separators as a scanner sends it, bracketed as printed under the code, or as a GS1
Digital Link URI — and the nongan label for boxes labelled at the station
(``NGK1|kit|lot|YYYY-MM-DD|strips[|serial]``). ``register_label`` then finds the kit (by GTIN in
the catalogue, or by id), checks the lot against the catalogue and the date, and adds the box
to ``KitStockBook``. Every refusal says what to do.
"""

from ._gs1 import GS, format_gs1, parse_gs1
from ._label import KitLabel, LabelError
from ._local import format_local, parse_local
from .parse import parse_label
from .register import Registration, RegistrationError, find_kit, register_label, typed_label

__all__ = [
    "GS",
    "KitLabel",
    "LabelError",
    "Registration",
    "RegistrationError",
    "find_kit",
    "format_gs1",
    "format_local",
    "parse_gs1",
    "parse_label",
    "parse_local",
    "register_label",
    "typed_label",
]
