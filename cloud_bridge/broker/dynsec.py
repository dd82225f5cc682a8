"""Roles and clients of Mosquitto 2's dynamic security plugin, derived from the database.

Mosquitto's ACL file checks a kiosk's reads only when a message is delivered: a kiosk may
subscribe to ``#`` or join the workers' shared subscription (``$share/nongan-bridge/...``),
and Mosquitto then hands it its round-robin share of every kiosk's events and drops them at
delivery. The dynamic security plugin decides at SUBSCRIBE time instead, by role: a kiosk's
role lets it subscribe to its own four cloud channels by their literal filters and publish on
its own topics by exact name (no ``+``, so no 8,000-character topic level), and the default
for everything else is *deny*. The plugin has no ``%u`` substitution, so each kiosk has its own
role, ``nongan-kiosk/{device id}``.

Authentication stays with the password file (and client certificates): the plugin's clients
carry no password here, only roles. A user the plugin does not know may log in but can neither
subscribe nor publish.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from protocol import Channel, CommandName, EventName, subscription
from protocol.topics import PREFIX

KIOSK_ROLE_PREFIX = "nongan-kiosk/"
CLOUD_ROLE = "nongan-cloud"
ADMIN_ROLE = "nongan-admin"
CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response"

DEFAULT_ACCESS = {"publishClientSend": False, "publishClientReceive": False,
                  "subscribe": False, "unsubscribe": True}
"""Everything a role does not grant is refused (unsubscribing is harmless)."""


@dataclass(frozen=True, slots=True, order=True)
class Acl:
    acltype: str
    topic: str
    allow: bool = True

    def as_json(self) -> dict[str, Any]:
        return {"acltype": self.acltype, "topic": self.topic, "priority": 0,
                "allow": self.allow}


def kiosk_role(device_id: str) -> str:
    return KIOSK_ROLE_PREFIX + device_id


def kiosk_acls(device_id: str) -> list[Acl]:
    """What one kiosk may do: publish on its own topics by exact name, subscribe to and read
    its own ack, key set, roster pages and commands by their literal filters."""
    base = f"{PREFIX}/{device_id}"
    sends = [f"{base}/{Channel.STATUS.value}", f"{base}/{Channel.TELEMETRY.value}"]
    sends += [f"{base}/{Channel.EVENT.value}/{e.value}" for e in EventName]
    sends += [f"{base}/{Channel.COMMAND_RESULT.value}/{c.value}" for c in CommandName]
    reads = [f"{base}/{Channel.ACK.value}", f"{base}/{Channel.KEYS.value}",
             subscription(Channel.ROSTER, device_id=device_id),
             subscription(Channel.COMMAND, device_id=device_id)]
    acls = [Acl("publishClientSend", t) for t in sends]
    acls += [Acl("subscribeLiteral", t) for t in reads]
    acls += [Acl("publishClientReceive", t) for t in reads]
    return sorted(acls)


def cloud_acls(group: str) -> list[Acl]:
    """The ingest workers: read every kiosk's topics (plainly or through their shared group),
    publish only what the cloud sends kiosks."""
    tree = f"{PREFIX}/#"
    sends = [f"{PREFIX}/+/{Channel.ACK.value}", f"{PREFIX}/+/{Channel.KEYS.value}",
             f"{PREFIX}/+/{Channel.ROSTER.value}/+", f"{PREFIX}/+/{Channel.COMMAND.value}/+"]
    acls = [Acl("subscribePattern", tree), Acl("subscribePattern", f"$share/{group}/{tree}"),
            Acl("publishClientReceive", tree)]
    acls += [Acl("publishClientSend", t) for t in sends]
    return sorted(acls)


def admin_acls() -> list[Acl]:
    """The cloud's provisioning account: the plugin's control API and nothing else."""
    return sorted([Acl("publishClientSend", f"{CONTROL_TOPIC}"),
                   Acl("publishClientReceive", RESPONSE_TOPIC),
                   Acl("subscribeLiteral", RESPONSE_TOPIC)])


@dataclass(frozen=True)
class Desired:
    """What the plugin should hold: role name -> ACLs, username -> role names."""

    roles: dict[str, list[Acl]]
    clients: dict[str, list[str]]

    @property
    def kiosks(self) -> set[str]:
        return {u for u, roles in self.clients.items()
                if any(r.startswith(KIOSK_ROLE_PREFIX) for r in roles)}


def desired(kiosks: Iterable[str], *, cloud_users: Iterable[str], admin_users: Iterable[str],
            group: str) -> Desired:
    """The plugin's roles and clients for these enrolled kiosks and the cloud's accounts."""
    roles: dict[str, list[Acl]] = {CLOUD_ROLE: cloud_acls(group), ADMIN_ROLE: admin_acls()}
    clients: dict[str, list[str]] = {}
    for user in cloud_users:
        clients[user] = [CLOUD_ROLE]
    for user in admin_users:
        clients[user] = [ADMIN_ROLE]
    for device_id in kiosks:
        role = kiosk_role(device_id)
        roles[role] = kiosk_acls(device_id)
        clients[device_id] = [role]
    return Desired(roles, clients)


def config_document(want: Desired) -> dict[str, Any]:
    """The plugin's whole configuration file (``plugin_opt_config_file``) for a broker that is
    not running yet; a running broker is changed through the control API (``sync``)."""
    return {
        "defaultACLAccess": dict(DEFAULT_ACCESS),
        "clients": [{"username": user, "roles": [{"rolename": r} for r in roles]}
                    for user, roles in sorted(want.clients.items())],
        "groups": [],
        "roles": [{"rolename": name, "acls": [a.as_json() for a in acls]}
                  for name, acls in sorted(want.roles.items())],
    }
