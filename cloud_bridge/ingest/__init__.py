"""Ingest: kiosk messages from MQTT into the store, acknowledged only after the commit.

``IngestWorker`` owns the MQTT client and the committer thread; ``BatchWriter`` turns a batch
of received messages into one transaction (usable without MQTT); ``classify`` holds the checks
every message passes (contract, device, signature).
"""

from .inbound import BatchResult, Inbound, Outcome, Rejection, Verdict
from .mqtt import subscription_filters
from .worker import IngestWorker, WorkerCrashed, WorkerNotReady, WorkerStats
from .writer import BatchWriter

__all__ = [
    "BatchResult",
    "BatchWriter",
    "Inbound",
    "IngestWorker",
    "Outcome",
    "Rejection",
    "Verdict",
    "WorkerCrashed",
    "WorkerNotReady",
    "WorkerStats",
    "subscription_filters",
]
