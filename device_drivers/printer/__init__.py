"""The thermal receipt printer (ESC/POS raster) and the receipt renderer."""

from device_drivers.printer.base import Printer
from device_drivers.printer.escpos import PrinterStatus
from device_drivers.printer.fonts import FontMissing, find_cjk_font
from device_drivers.printer.receipt import ReceiptContent, render_receipt
from device_drivers.printer.simulated import SimulatedPrinter

__all__ = [
    "FontMissing",
    "Printer",
    "PrinterStatus",
    "ReceiptContent",
    "SimulatedPrinter",
    "find_cjk_font",
    "render_receipt",
]
