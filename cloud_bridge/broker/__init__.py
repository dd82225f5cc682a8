"""The broker's side of trust: who may log in and what each account may publish and read.

- ``dynsec``: the roles of Mosquitto 2's dynamic security plugin, derived from the enrolled
  kiosks (each kiosk may subscribe to and publish its own topics, by exact name, and nothing
  else; the broker refuses anything more at SUBSCRIBE time).
- ``control``: a client for the plugin's ``$CONTROL/dynamic-security/v1`` API, so kiosks are
  added and retired on a running broker without editing a file.
- ``files``: the files the broker reads (password file, the plugin's initial configuration,
  the certificate revocation list), written from the database.
- ``sync``: bringing a running broker in line with the database (``nongan bridge
  broker-sync``; also after enrolling, retiring or re-enabling a kiosk).
"""
