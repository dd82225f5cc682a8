"""``nongan demo``: the whole path on one machine — embedded broker, cloud bridge on SQLite,
a simulated kiosk — interactively in a browser or headless with simulated farmers."""
