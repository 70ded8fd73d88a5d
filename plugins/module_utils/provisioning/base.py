# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a sub-provisioner is (DFE's instance, storage and database provisioners), and what it is given.

A sub-provisioner makes one slice of a tenant. Every call is idempotent: ``provision`` after a crash
finds what an earlier attempt made (its names come from the instance id, written in ``intent``
before the step), and ``deprovision`` of something that is not there is done. Parts are plain JSON
(they are stored): never a secret in them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar

from ..errors import InputError, suggest


@dataclass(frozen=True)
class Request:
    """A provisioning request (DFE's job), carried by every event."""

    owner: str
    instance_id: str
    provisioner: str
    guest_location: str | None = None
    offerings: dict = field(default_factory=dict)

    @classmethod
    def of_row(cls, row) -> "Request":
        """The request a provision row was made by."""
        return cls(row.owner, row.instance_id, row.provisioner, row.guest_location, dict(row.offerings))

    def as_dict(self) -> dict:
        return {"owner": self.owner, "instance_id": self.instance_id, "provisioner": self.provisioner,
                "guest_location": self.guest_location, "offerings": dict(self.offerings)}


@dataclass
class Context:
    """What sub-provisioners may use: the store (by DSN: a step opens its own connection), the
    store's fleet, the clock, the providers, the deadline of the whole call, and ``secrets``,
    where a step leaves what the caller may see once and nothing may keep (a generated password)."""

    store_dsn: str
    fleet: str | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    provider_factory: Any = None
    deadline: float | None = None
    secrets: dict = field(default_factory=dict)
    polling: dict = field(default_factory=dict)     # the server flows' backoff (tests make it fast)


class SubProvisioner:
    """Base of every sub-provisioner. ``role`` is instance, storage or database; ``name`` is how
    ``provisioners.yml`` names it; ``OPTIONS`` are the options it takes (name -> hint)."""

    role: ClassVar[str] = ""
    name: ClassVar[str] = ""
    OPTIONS: ClassVar[dict] = {}
    dump_file: ClassVar[str | None] = None      # the file of its part in a snapshot (None: no data)

    def __init__(self, options: dict | None, context: Context):
        self.options = dict(options or {})
        self.context = context

    @classmethod
    def option_errors(cls, options: dict) -> list:
        """``[(key, message, hint)]`` for options it does not take (subclasses check values too)."""
        return [(key, "unknown option of %s %r" % (cls.role, cls.name), suggest(key, cls.OPTIONS))
                for key in options if key not in cls.OPTIONS]

    @classmethod
    def with_paths(cls, options: dict, folder: str) -> dict:
        """``options`` with the paths they name made absolute (relative ones start at ``folder``,
        the provisioners file's); the default names no path."""
        return options

    def check(self, request: Request) -> None:
        """Refuse a request before anything is made (InputError); the default takes any."""

    def intent(self, request: Request, parts: dict) -> dict:
        """What ``provision`` will make, written before it runs (names derived from the request)."""
        return {}

    def provision(self, request: Request, parts: dict) -> dict:
        """Make the part (or find it made) and return its record."""
        raise NotImplementedError

    def deprovision(self, request: Request, part: dict, parts: dict, keep_data: bool = False) -> str:
        """Undo the part (nothing there is fine); the part's new status (``removed`` or ``kept``)."""
        raise NotImplementedError

    def export(self, request: Request, part: dict, parts: dict, path: str) -> None:
        """Write the part's data to the file ``path`` (only when ``dump_file`` is set)."""

    def export_to(self, request: Request, part: dict, parts: dict, handle) -> None:
        """Write the part's data to the binary file object ``handle`` (write, flush, tell), in one
        pass: an export uses it instead of ``export`` when a sub-provisioner overrides it
        (``streams_export``), and hashes the bytes on their way instead of reading the staged file back."""
        raise NotImplementedError

    @property
    def streams_export(self) -> bool:
        """Whether ``export_to`` is its own (the export then hashes the part as it is written)."""
        return type(self).export_to is not SubProvisioner.export_to

    def verify(self, path: str) -> None:
        """Refuse (PermanentError) a staged dump this sub-provisioner could not restore, before
        anything is made; the default takes any."""

    def restore(self, request: Request, part: dict, parts: dict, path: str) -> None:
        """Put the data of ``path`` (verified, staged) into the part just made."""

    def describe(self, part: dict) -> dict:
        """What a task result and an event say of the part (the default: the record itself)."""
        return dict(part)


def option_error(role: str, key: str, message: str, hint: str | None = None) -> InputError:
    return InputError(message, key="provides.%s.options.%s" % (role, key), hint=hint)
