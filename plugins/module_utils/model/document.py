# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that a document is a JSON tree of bounded size before anything walks it.

Everything after the loader (the schema validators, the digest of ``json.dumps``, the store)
walks the document recursively and expands what YAML aliases share: a list that contains itself
(``children: &r [*r]``) never ends, nine aliases of nine aliases (the "billion laughs") take
forever, a map 400 levels deep exhausts Python's stack, and a key that is not a string breaks
``json.dumps(sort_keys=True)``. So a document must be, before it is validated:

- at most ``max_depth`` maps and lists deep;
- a tree: a map or list shared by several places (a YAML alias) adds its expanded size, and all
  of them together at most ``max_alias_nodes`` nodes; one that contains itself is refused;
- JSON: string keys; values that are maps, lists, strings, numbers, booleans or null.

The walk is iterative (a stack, never recursion) and linear; the expanded sizes are computed only
when something is shared, which a document without aliases never is.
"""

from __future__ import annotations

from ..errors import InputError, shorten
from ..limits import Limits, cap_hint

_SCALARS = frozenset((str, int, float, bool, type(None)))


def check_document(doc, locate, limits: Limits) -> None:
    """Raise InputError (at the offending node) unless ``doc`` is a JSON tree within the caps."""
    if _first_pass(doc, locate, limits):
        _shared_pass(doc, locate, limits)


def _first_pass(doc, locate, limits: Limits) -> bool:
    """Depth and types of every node, each container visited once; True when one is shared.

    The hot loop of every load (20 ms for 10,000 instances): containers are pushed inline."""
    seen: set = set()
    stack = [(doc, 1, None, None)]            # (node, depth, parent entry, key in the parent)
    max_depth = limits.max_depth
    while stack:
        entry = stack.pop()
        node, depth = entry[0], entry[1]
        if id(node) in seen:
            return True
        seen.add(id(node))
        if depth > max_depth:
            raise _too_deep(locate, _path(entry), limits)
        if isinstance(node, dict):
            for key, value in node.items():
                if not isinstance(key, str):
                    raise InputError("the key %s is not a string" % shorten(key), locate(_path(entry)),
                                     hint="keys are names: quote it if it is meant as one")
                kind = type(value)
                if kind is dict or kind is list:
                    stack.append((value, depth + 1, entry, key))
                elif kind not in _SCALARS:
                    raise _not_json(locate, _path(entry) + (key,), value)
        else:
            for index, value in enumerate(node):
                kind = type(value)
                if kind is dict or kind is list:
                    stack.append((value, depth + 1, entry, index))
                elif kind not in _SCALARS:
                    raise _not_json(locate, _path(entry) + (index,), value)
    return False


def _path(entry) -> tuple:
    """The JSON path of a stack entry, rebuilt from its parents (only when an error needs it)."""
    keys = []
    while entry is not None and entry[2] is not None:
        keys.append(entry[3])
        entry = entry[2]
    return tuple(reversed(keys))


def _shared_pass(doc, locate, limits: Limits) -> None:
    """Walk in document order (an anchor comes before its aliases) keeping each container's
    expanded size and height, so that every later reference to it is charged what it expands to."""
    expanded: dict = {}                       # id -> (nodes, height) once its walk is done
    open_ids: set = {id(doc)}                 # containers on the current path
    frames = [_Frame(doc, (), 1)]
    added = 0
    while frames:
        frame = frames[-1]
        step = next(frame.children, None)
        if step is None:
            frames.pop()
            open_ids.discard(id(frame.node))
            expanded[id(frame.node)] = (frame.nodes, frame.height)
            if frames:
                frames[-1].add(frame.nodes, frame.height)
            continue
        key, value = step
        if not isinstance(value, (dict, list)):
            frame.add(1, 0)
            continue
        path = frame.path + (key,)
        if id(value) in open_ids:
            raise InputError("an alias repeats a map or list inside itself: it never ends",
                             locate(path), key=_key(path), hint="an alias ('*name') can only repeat a "
                             "node defined before it, outside of it")
        if id(value) in expanded:
            nodes, height = expanded[id(value)]
            added += nodes
            if added > limits.max_alias_nodes:
                raise InputError("aliases expand the document by more than %d nodes (repeating this map or list)"
                                 % limits.max_alias_nodes, locate(path), key=_key(path),
                                 hint="write the repeated part fewer times, " + cap_hint("max_alias_nodes"))
            if frame.depth + height > limits.max_depth:
                raise _too_deep(locate, path, limits)
            frame.add(nodes, height)
            continue
        if frame.depth + 1 > limits.max_depth:
            raise _too_deep(locate, path, limits)
        open_ids.add(id(value))
        frames.append(_Frame(value, path, frame.depth + 1))


class _Frame:
    """A container being walked: its children still to visit, what it expands to so far."""

    __slots__ = ("node", "path", "depth", "children", "nodes", "height")

    def __init__(self, node, path: tuple, depth: int):
        self.node, self.path, self.depth = node, path, depth
        self.children = iter(node.items() if isinstance(node, dict) else enumerate(node))
        self.nodes, self.height = 1, 1

    def add(self, nodes: int, height: int) -> None:
        self.nodes += nodes
        self.height = max(self.height, height + 1)


def _key(path: tuple) -> str | None:
    """The innermost map key of ``path`` (a list index names nothing a user wrote)."""
    return next((step for step in reversed(path) if isinstance(step, str)), None)


def _too_deep(locate, path: tuple, limits: Limits) -> InputError:
    return InputError("the document nests more than %d maps and lists deep" % limits.max_depth, locate(path),
                      key=_key(path), hint="flatten this part, " + cap_hint("max_depth"))


def _not_json(locate, path: tuple, value) -> InputError:
    return InputError("a value of type %s: an application holds only maps, lists, strings, numbers, "
                      "booleans and null" % type(value).__name__, locate(path), key=_key(path),
                      hint="write it as a string")
