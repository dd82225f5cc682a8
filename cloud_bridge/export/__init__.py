"""Exports for operators: CSV tables and GS1 EPCIS 2.0 JSON-LD events."""

from .csv_export import certificates_csv, readings_csv
from .epcis import epcis_document

__all__ = ["certificates_csv", "epcis_document", "readings_csv"]
