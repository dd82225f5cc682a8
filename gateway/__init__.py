"""The kiosk's brain: settings, identity, the durable outbox, the MQTT link, scoring, the
session flow and certificate issuance. Imports ``protocol`` and ``device_drivers``; never
``cloud_bridge``.
"""
