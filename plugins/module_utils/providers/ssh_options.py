# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the ``ssh`` provider accepts from users: hosts, names, ports, paths, commands.

Everything that reaches an ssh command line is checked here first, so that no value can become an
option of ssh (an address or a user starting with ``-``), a second word (spaces), a path out of the
provider's directory (``..``) or a shell string: ``InputError`` naming the key otherwise.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Mapping

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.ssh_client import Host

HOST_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
HOST_NAME_HINT = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
DNS_NAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                         r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")
USER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SERVER_NAME_RE = re.compile(r"^[^\x00-\x1f\x7f]{1,200}$")
HOST_KEYS = ("name", "address", "port", "user")


def check_hosts(hosts: Any, default_user: str, default_port: int) -> list:
    if isinstance(hosts, Mapping):
        entries = []
        for name, entry in hosts.items():
            if not isinstance(entry, Mapping):
                raise InputError("host %r must be a mapping of address, port, user" % (name,), key="hosts")
            if "name" in entry:
                raise InputError("host %r: 'name' is the key of the mapping" % (name,), key="hosts")
            entries.append(dict(entry, name=name))
    elif isinstance(hosts, (list, tuple)):
        entries = list(hosts)
    else:
        raise InputError("is required: a mapping name -> {address, port, user}, or a list of {name, address, port, "
                         "user}", key="hosts")
    if not entries:
        raise InputError("must name at least one host", key="hosts")
    out, names = [], set()
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise InputError("every host must be a mapping with an address, got %r" % (entry,), key="hosts")
        unknown = sorted(str(k) for k in entry if k not in HOST_KEYS)
        if unknown:
            raise InputError("unknown key %r in a host" % unknown[0], key="hosts", hint="valid keys: %s"
                             % ", ".join(HOST_KEYS))
        address = check_address(entry.get("address"))
        name = entry.get("name", address)
        if not isinstance(name, str) or not HOST_NAME_RE.match(name):
            raise InputError("host name %r is not valid" % (name,), key="hosts", hint=HOST_NAME_HINT)
        if name in names:
            raise InputError("host name %r is used twice" % name, key="hosts")
        names.add(name)
        user = default_user if entry.get("user") is None else check_user(entry["user"], "hosts")
        port = default_port if entry.get("port") is None else check_port(entry["port"], "hosts")
        out.append(Host(name=name, address=address, port=port, user=user))
    return out


def check_address(address: Any) -> str:
    if not isinstance(address, str) or not address:
        raise InputError("every host needs an address (a DNS name or an IP address), got %r" % (address,),
                         key="hosts")
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        pass
    if not DNS_NAME_RE.match(address):      # never an option ("-oProxyCommand=..."), a space or a user@
        raise InputError("address %r is neither a DNS name nor an IP address" % address, key="hosts")
    return address


def check_user(user: Any, key: str) -> str:
    if not isinstance(user, str) or not USER_RE.match(user):
        raise InputError("user %r is not a valid user name" % (user,), key=key,
                         hint="letters, digits, '_', '.' or '-', starting with a letter or '_'")
    return user


def check_port(port: Any, key: str) -> int:
    if isinstance(port, bool) or not isinstance(port, (int, float, str)):
        raise InputError("port must be a number from 1 to 65535, got %r" % (port,), key=key)
    try:
        number = float(port)
    except ValueError:
        raise InputError("port must be a number from 1 to 65535, got %r" % (port,), key=key) from None
    if number != int(number) or not 1 <= number <= 65535:
        raise InputError("port must be a number from 1 to 65535, got %r" % (port,), key=key)
    return int(number)


def check_state_dir(state_dir: Any) -> str:
    if not isinstance(state_dir, str) or not state_dir.strip():
        raise InputError("must be a non-empty path", key="state_dir")
    parts = state_dir.split("/")
    if re.search(r"[\x00-\x1f\x7f]", state_dir) or ".." in parts or state_dir.startswith("-"):
        raise InputError("must be a plain path (no control characters, no '..', not starting with '-')",
                         key="state_dir")
    return state_dir.rstrip("/") or "/"


def check_spec(spec: ServerSpec) -> None:
    if not isinstance(spec.name, str) or not SERVER_NAME_RE.match(spec.name):
        raise InputError("%r is not a valid server name" % (spec.name,), key="name")
    if not isinstance(spec.client_token, str) or not spec.client_token:
        raise InputError("must be a non-empty string", key="client_token")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in (spec.tags or {}).items()):
        raise InputError("tags must map strings to strings", key="tags")
    for key in spec.options or {}:
        raise InputError("unknown server option for provider 'ssh'", key=str(key),
                         hint="the ssh provider takes its settings from provider_options")


def check_command(argv: Any, env: Any, timeout: Any, cwd: Any) -> None:
    if isinstance(argv, str) or not (isinstance(argv, (list, tuple)) and argv
                                     and all(isinstance(a, str) and "\0" not in a for a in argv)):
        raise InputError("must be a non-empty list of strings without NUL (never a shell string)", key="argv")
    if not argv[0] or argv[0].startswith("-"):   # the shells' exec would take it for an option
        raise InputError("the program %r must be a name or a path, not starting with '-'" % argv[0], key="argv")
    if env is not None:
        if not isinstance(env, Mapping):
            raise InputError("must map names to strings", key="env")
        for name, value in env.items():
            if not (isinstance(name, str) and ENV_NAME_RE.match(name)):
                raise InputError("%r is not a variable name" % (name,), key="env",
                                 hint="letters, digits and '_', not starting with a digit")
            if not isinstance(value, str) or "\0" in value:
                raise InputError("the value of %s must be a string without NUL" % name, key="env")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise InputError("must be a positive number of seconds", key="timeout")
    if cwd is not None and (not isinstance(cwd, str) or "\0" in cwd):
        raise InputError("must be a path", key="cwd")
