# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's error taxonomy.

The engine raises only these. Ansible adapters turn them into ``fail_json`` in a single ``try``;
a user never sees a traceback for bad input.
"""

from __future__ import annotations


class AppGraphError(Exception):
    """Base of every error the engine raises on purpose."""


class Location:
    """Where a piece of user input came from: file, line, column (1-based; 0 = unknown)."""

    __slots__ = ("file", "line", "column")

    def __init__(self, file: str | None = None, line: int = 0, column: int = 0):
        self.file = file
        self.line = line
        self.column = column

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.line:
            parts.append(str(self.line))
            if self.column:
                parts.append(str(self.column))
        return ":".join(parts)

    def __repr__(self) -> str:
        return "Location(%r, %d, %d)" % (self.file, self.line, self.column)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and (self.file, self.line, self.column) == (
            other.file, other.line, other.column)

    def __hash__(self) -> int:
        return hash((self.file, self.line, self.column))


class InputError(AppGraphError):
    """Bad user input: names the place, the offending key and the fix.

    ``str()`` reads ``file:line[:col]: key: message (hint: ...)``.
    """

    def __init__(self, message: str, location: Location | None = None, key: str | None = None,
                 hint: str | None = None):
        self.message = message
        self.location = location or Location()
        self.key = key
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = "%s: " % self.location
        if self.key:
            text += "%s: " % self.key
        text += self.message
        if self.hint:
            text += " (hint: %s)" % self.hint
        return text


class InputErrors(InputError):
    """Several input errors found in one pass, reported together (first one first)."""

    def __init__(self, errors: list[InputError]):
        self.errors = list(errors)
        if not self.errors:
            raise ValueError("InputErrors needs at least one InputError")
        first = self.errors[0]
        super().__init__(first.message, first.location, first.key, first.hint)

    def __str__(self) -> str:
        return "\n".join(InputError.__str__(e) for e in self.errors)


class TransientError(AppGraphError):
    """Worth retrying later (a provider throttled us, a lease is held by a live process)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(AppGraphError):
    """Retrying will not help until a person changes something (unknown provider, refused removal)."""


class ConflictError(TransientError):
    """Another process owns the object right now (a live lease)."""


class StoreError(AppGraphError):
    """The store cannot be opened or is newer than this code understands."""
