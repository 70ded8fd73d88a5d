# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provider contract: what the engine asks of a place that makes servers (DESIGN.md "Servers").

The calls follow Spatie's dynamic servers: every change is asynchronous and has a matching check
that the engine polls (``create_server`` / ``has_started``, ``stop_server`` / ``has_stopped``,
``delete_server`` / ``has_been_deleted``). Unlike Spatie, creation is idempotent across retries:
the engine gives every server row a deterministic ``client_token`` and a provider that already
holds a server with that token returns it instead of making a second one.

Errors: raise ``TransientError`` for what is worth retrying (throttling, a server not ready yet),
``PermanentError`` for what is not. Any other exception is recorded by the engine with its class and
message, and the server becomes ``errored``.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, PermanentError


# The tag every server made for a store carries: the store's fleet (``Provider.use_fleet``).
FLEET_TAG = "appgraph_fleet"
ALL_FLEETS = "*"        # ``use_fleet(ALL_FLEETS)``: list the servers of every fleet (an inventory that asks)


@dataclass(frozen=True)
class ServerSpec:
    """What the engine asks for. ``client_token`` is deterministic per server row (idempotency)."""

    name: str
    server_type: str
    client_token: str
    tags: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderServer:
    """A server as the provider sees it. ``provider_id`` is what every other call takes."""

    provider_id: str
    name: str
    state: str
    address: str | None
    tags: dict[str, str]
    client_token: str
    created_at: float  # epoch seconds
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExecResult:
    """How a command ended. ``stdout``/``stderr`` are tails (the provider says how long)."""

    rc: int
    stdout: str
    stderr: str
    timed_out: bool = False


@dataclass(frozen=True)
class Option:
    """One provider option: its type, its default, and the smallest value allowed (numbers)."""

    kind: type
    default: Any = None
    minimum: float | None = None
    above_minimum: bool = False  # True: the value must be strictly greater than ``minimum``
    doc: str = ""
    secret: bool = False         # a credential: never stored, masked in task output


def validate_options(provider: str, declared: Mapping[str, Option], options: Mapping[str, Any] | None) -> dict:
    """Check ``options`` against ``declared``; return every declared key with its value or default.

    A value of ``None`` means "not set" (Ansible passes unset suboptions as ``None``).
    """
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise InputError("must be a mapping, got %s" % type(options).__name__, key="provider_options")
    valid = ", ".join(sorted(declared)) or "(none)"
    for key in options:
        if key not in declared:
            raise InputError("unknown option for provider %r" % provider, key=str(key),
                             hint="valid keys: %s" % valid)
    values = {}
    for key, option in declared.items():
        value = options.get(key)
        values[key] = option.default if value is None else _coerce(key, option, value)
    return values


def _coerce(key: str, option: Option, value: Any) -> Any:
    if option.kind is float:
        return _number(key, option, value)
    if not isinstance(value, option.kind):
        raise InputError("must be a %s, got %r" % (option.kind.__name__, value), key=key)
    return value


def _number(key: str, option: Option, value: Any) -> float:
    # bool is an int subclass: "heartbeat_interval: yes" is a mistake, not 1 second.
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise InputError("must be a number, got %r" % (value,), key=key)
    try:
        number = float(value)  # strings too: templated values arrive as text
    except ValueError:
        raise InputError("must be a number, got %r" % (value,), key=key) from None
    if option.minimum is not None:
        too_small = number <= option.minimum if option.above_minimum else number < option.minimum
        if too_small:
            bound = "greater than" if option.above_minimum else "at least"
            raise InputError("must be %s %s, got %r" % (bound, option.minimum, value), key=key)
    return number


class Provider(abc.ABC):
    """Where servers come from. Subclasses set ``name`` and ``OPTIONS`` and implement every call.

    Every call may be made from several threads at once, and from several processes (a new
    controller finds the servers an earlier one made through ``list_servers``).
    """

    name: ClassVar[str] = ""
    OPTIONS: ClassVar[Mapping[str, Option]] = MappingProxyType({})
    # The fleet (a store's identity) whose servers this provider object makes, sees and touches;
    # None: the provider's own level (servers made before fleets). Set by the engine, never by users.
    fleet: str | None = None

    def use_fleet(self, fleet: str | None) -> "Provider":
        """Keep to ``fleet``'s servers: a provider never lists, adopts, stops or deletes a server
        of another fleet. The base keeps them apart by ``FLEET_TAG`` (``in_fleet``); a provider
        with another way (the local one: a folder per fleet) overrides it."""
        self.fleet = fleet
        return self

    def in_fleet(self, tags: Mapping[str, str] | None) -> bool:
        """Whether a server with ``tags`` belongs to this provider's fleet."""
        if self.fleet == ALL_FLEETS:
            return True
        return (tags or {}).get(FLEET_TAG) == self.fleet

    @classmethod
    def from_options(cls, options: Mapping[str, Any] | None) -> "Provider":
        """Build a provider from user options (validated against ``OPTIONS``)."""
        return cls(**validate_options(cls.name, cls.OPTIONS, options))

    @abc.abstractmethod
    def create_server(self, spec: ServerSpec) -> ProviderServer:
        """Start making a server and return at once. If a server carrying ``spec.client_token``
        exists already, adopt it and return it: never make a second one."""

    @abc.abstractmethod
    def has_started(self, provider_id: str) -> bool:
        """True once the server answers (its agent, its SSH port...)."""

    @abc.abstractmethod
    def stop_server(self, provider_id: str) -> None:
        """Ask the server to stop; return at once. Stopping a stopped server does nothing."""

    @abc.abstractmethod
    def has_stopped(self, provider_id: str) -> bool:
        """True once the server is stopped (or gone)."""

    @abc.abstractmethod
    def delete_server(self, provider_id: str) -> None:
        """Ask for the server to be deleted; deleting a deleted server does nothing."""

    @abc.abstractmethod
    def has_been_deleted(self, provider_id: str) -> bool:
        """True once nothing of the server is left."""

    @abc.abstractmethod
    def reboot_server(self, provider_id: str) -> None:
        """Restart the server; ``has_started`` is false until it answers again."""

    @abc.abstractmethod
    def list_servers(self, tags: Mapping[str, str] | None = None) -> list[ProviderServer]:
        """Every server of this provider account, optionally only those carrying all ``tags``."""

    @abc.abstractmethod
    def current_server_count(self) -> int:
        """How many servers exist in this account now (what ``max_servers`` is checked against)."""

    @abc.abstractmethod
    def last_heartbeat(self, provider_id: str) -> float | None:
        """Epoch seconds of the server's last sign of life, or ``None`` when there is none."""

    @abc.abstractmethod
    def identity(self) -> str:
        """A stable string naming the account or root: part of cache keys and of limits."""

    def ansible_vars(self, provider_id: str, address: str | None = None) -> dict:
        """How Ansible reaches the server: the connection variables of an inventory host, and
        ``appgraph_server_dir``, the server's working directory as the connection's relative paths
        see it (where an installer keeps ``instances/...``). Optional capability; never a secret
        (a key is given as a file only this process can read)."""
        raise PermanentError("provider %s gives Ansible no way to reach its servers" % (self.name or type(self).__name__))

    def server_home(self, provider_id: str) -> str:
        """A directory of this machine that is the server's own (its files: a tenant's storage).
        Optional capability: only a provider whose servers are folders here has one."""
        raise PermanentError("provider %s has no server folder on this machine: give the storage "
                             "sub-provisioner a 'root'" % (self.name or type(self).__name__))

    def exec(self, provider_id: str, argv: list[str], env: Mapping[str, str] | None = None,
             timeout: float | None = None, cwd: str | None = None) -> ExecResult:
        """Run ``argv`` (a list, never a shell string) on the server. Optional capability."""
        raise PermanentError("provider %s cannot run commands" % (self.name or type(self).__name__))
