# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine's error taxonomy.

The engine raises only these. Ansible adapters turn them into ``fail_json`` in a single ``try``;
a user never sees a traceback for bad input.
"""

from __future__ import annotations

import difflib


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


class InstallerError(AppGraphError):
    """An operation failed; ``detail`` carries what a person needs (exit code, output tail)."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message + ("\n" + detail if detail else ""))
        self.detail = detail


def describe(error: BaseException) -> str:
    """``"ClassName: message"`` (just the class name when the message is empty)."""
    text = str(error)
    return "%s: %s" % (type(error).__name__, text) if text else type(error).__name__


SUGGESTION_POOL = 200      # names compared closely; a file may declare 10,000 and have 100 typos


def suggest(name, choices) -> str | None:
    """A hint naming the closest valid choice, or listing a few (``name`` may be any value)."""
    name = "" if name is None else str(name)
    choices = sorted(str(c) for c in choices)
    lower = {c.lower(): c for c in choices}
    if name and name.lower() in lower:
        return "names are case-sensitive: did you mean %r?" % lower[name.lower()]
    close = difflib.get_close_matches(name, _pool(name, choices), n=1) if name else []
    if close:
        return "did you mean %r?" % close[0]
    if choices:
        return "valid names: %s" % ", ".join(choices[:12]) + (", ..." if len(choices) > 12 else "")
    return None


def _pool(name: str, choices: list) -> list:
    """The choices worth comparing with difflib (3 us each): all of a few, else those of about
    the same length and first letter, at most SUGGESTION_POOL of them."""
    if len(choices) <= SUGGESTION_POOL:
        return choices
    first = name[:1].lower()
    return [c for c in choices if c[:1].lower() == first and abs(len(c) - len(name)) <= 2][:SUGGESTION_POOL]


def shorten(value, width: int = 60) -> str:
    """``repr(value)``, cut to ``width`` characters: an error message quotes what the user wrote,
    which may be a megabyte long."""
    text = repr(value)
    return text if len(text) <= width else text[:width - 3] + "..."
