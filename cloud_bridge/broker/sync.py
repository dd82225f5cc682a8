"""Bringing a running broker's dynamic security configuration in line with the database.

``plan`` compares what the plugin holds (its roles and clients, listed through the control API)
with what the enrolled kiosks and the cloud's accounts call for (``dynsec.desired``) and returns
the commands that close the gap: create what is missing, correct a role whose ACLs differ,
take from a client any role it should not have, and delete the clients and roles of kiosks that
are no longer enrolled (the plugin disconnects a deleted client at once). Accounts it does not
manage (neither the cloud's nor a kiosk role) are left alone and reported.

``apply`` runs the plan; running it twice changes nothing the second time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .control import DynsecControl
from .dynsec import DEFAULT_ACCESS, KIOSK_ROLE_PREFIX, Acl, Desired

log = logging.getLogger(__name__)


@dataclass
class Plan:
    commands: list[dict[str, Any]] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    corrected: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.commands


def _acls(role: dict[str, Any]) -> set[Acl]:
    return {Acl(a["acltype"], a["topic"], bool(a.get("allow", True)))
            for a in role.get("acls", [])}


def current_state(control: DynsecControl) -> tuple[dict[str, set[Acl]], dict[str, list[str]],
                                                    dict[str, bool]]:
    """What the plugin holds: role -> ACLs, username -> role names, default access."""
    roles_answer, clients_answer, default_answer = control.run([
        {"command": "listRoles", "verbose": True, "count": -1, "offset": 0},
        {"command": "listClients", "verbose": True, "count": -1, "offset": 0},
        {"command": "getDefaultACLAccess"},
    ])
    roles = {r["rolename"]: _acls(r) for r in roles_answer.get("data", {}).get("roles", [])}
    clients = {c["username"]: [r["rolename"] for r in c.get("roles", [])]
               for c in clients_answer.get("data", {}).get("clients", [])}
    defaults = {a["acltype"]: bool(a["allow"])
                for a in default_answer.get("data", {}).get("acls", [])}
    return roles, clients, defaults


def plan(want: Desired, roles: dict[str, set[Acl]], clients: dict[str, list[str]],
         defaults: dict[str, bool]) -> Plan:
    """The commands that turn the plugin's state into ``want``."""
    out = Plan()
    if any(defaults.get(k) != v for k, v in DEFAULT_ACCESS.items()):
        out.commands.append({"command": "setDefaultACLAccess", "acls": [
            {"acltype": k, "allow": v} for k, v in DEFAULT_ACCESS.items()]})
        out.corrected.append("default access")
    for name, acls in sorted(want.roles.items()):
        target = set(acls)
        if name not in roles:
            out.commands.append({"command": "createRole", "rolename": name,
                                 "acls": [a.as_json() for a in acls]})
            continue
        have = roles[name]
        if have != target:
            out.corrected.append(name)
            for acl in sorted(have - target):
                out.commands.append({"command": "removeRoleACL", "rolename": name,
                                     "acltype": acl.acltype, "topic": acl.topic})
            for acl in sorted(target - have):
                out.commands.append({"command": "addRoleACL", "rolename": name,
                                     **acl.as_json()})
    for user, wanted_roles in sorted(want.clients.items()):
        if user not in clients:
            out.commands.append({"command": "createClient", "username": user,
                                 "roles": [{"rolename": r} for r in wanted_roles]})
            out.created.append(user)
            continue
        for role in sorted(set(wanted_roles) - set(clients[user])):
            out.commands.append({"command": "addClientRole", "username": user,
                                 "rolename": role})
            out.corrected.append(user)
        for role in sorted(set(clients[user]) - set(wanted_roles)):
            out.commands.append({"command": "removeClientRole", "username": user,
                                 "rolename": role})
            out.corrected.append(user)
    for user, have_roles in sorted(clients.items()):
        if user in want.clients:
            continue
        if any(r.startswith(KIOSK_ROLE_PREFIX) for r in have_roles):
            out.commands.append({"command": "deleteClient", "username": user})
            out.removed.append(user)
        else:
            out.unmanaged.append(user)
    for name in sorted(roles):
        if name.startswith(KIOSK_ROLE_PREFIX) and name not in want.roles:
            out.commands.append({"command": "deleteRole", "rolename": name})
    return out


def apply(control: DynsecControl, want: Desired) -> Plan:
    """Compare and correct; returns what was done."""
    result = plan(want, *current_state(control))
    if not result.empty:
        control.run(result.commands)
    for user in result.unmanaged:
        log.warning("the broker's dynamic security has an account nongan does not manage: %r",
                    user)
    return result
