"""The cloud's registry: producers and their credit, rosters, certificates' cloud-side life
(revocation, market checks, purchaser re-issues), API keys, the history, retention pruning,
and the fleet view.

Each module takes an open SQLAlchemy session and leaves the commit to its caller, so the API,
the command line and the ingest worker compose them into their own transactions.
"""
