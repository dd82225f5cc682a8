"""The cloud: ingest of kiosk messages, the store (SQLAlchemy 2 + Alembic), the HTTP API, the
public verification pages and the operator dashboard. Imports ``protocol``; never ``gateway``.

Entry points (imported from their subpackages, so ``import cloud_bridge`` stays light):

- ``cloud_bridge.settings``: ``load_settings(path) -> BridgeSettings``, ``ConfigError``.
- ``cloud_bridge.store``: ``make_engine(url)``, ``migrate(url)``, ``enroll_device``,
  ``retire_device``, ``list_devices``, the ORM tables.
- ``cloud_bridge.ingest``: ``IngestWorker(settings, engine)``, ``BatchWriter(engine)``.
- ``cloud_bridge.api``: ``create_app(settings | engine=...)`` (public page and JSON, market
  and supervisor actions, operator JSON and exports, the dashboard).
- ``cloud_bridge.domain``: the business layer: producers and credit, rosters, revocation,
  market checks, purchasers' re-issues, API keys, history, retention, fleet, alerts,
  statistics.
- ``cloud_bridge.errors``: the root of the cloud's error tree (``BridgeError``).
- ``cloud_bridge.export``: CSV and GS1 EPCIS 2.0 JSON-LD.
- ``cloud_bridge.pki``: the link's CA and certificates (``nongan pki``).
- ``cloud_bridge.cli``: ``nongan bridge ...``; ``run_workers(settings, n, stop_event)``.

See docs/cloud-bridge.md (ingest, store), docs/cloud.md (features), docs/operations.md.
"""
