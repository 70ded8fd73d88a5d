# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The clone life cycle, the moves it allows, and the events every step writes (pure).

::

    building --> ready --claim--> claimed --finalize--> migrated
        |          |                 |                      |
        |          |                 +------release---------+--> returning --> ready   (reuse_on_release)
        |          |                 |                      |
        +----------+-----------------+------release---------+--> deleting --> (row removed)
      (failed)  (expired)

    fallback: building (under the permanent name) --> migrated

- ``ready`` is entered from ``building`` or ``returning`` only: a claimed clone never becomes free
  again by itself (Aegir's clone looked free while its migration was pending); only an explicit
  release with ``reuse_on_release`` hands it back, through ``returning``.
- What a reserve counts as its clones (its size) is ``building`` and ``ready`` clones of the current
  template; ``deleting`` ones never count (Aegir counted clones with a pending delete).
"""

from __future__ import annotations

from ..errors import PermanentError

BUILDING = "building"
READY = "ready"
CLAIMED = "claimed"
MIGRATED = "migrated"
RETURNING = "returning"
DELETING = "deleting"
STATES = (BUILDING, READY, CLAIMED, MIGRATED, RETURNING, DELETING)
COUNTED = (BUILDING, READY)         # the reserve's own clones (with the current template)
HANDED_OUT = (CLAIMED, MIGRATED)    # clones that belong to whoever claimed them

MOVES = {
    BUILDING: frozenset({READY, MIGRATED, DELETING}),
    READY: frozenset({CLAIMED, DELETING}),
    CLAIMED: frozenset({MIGRATED, RETURNING, DELETING}),
    MIGRATED: frozenset({RETURNING, DELETING}),
    RETURNING: frozenset({READY, DELETING}),
    DELETING: frozenset(),
}

# Why a clone is being deleted (its ``reason``).
LIFETIME, TEMPLATE, SURPLUS, RELEASED, FAILED, ABSENT = "lifetime", "template", "surplus", "released", "failed", \
    "absent"

# Events (the outbox), one per step.
CLONE_CREATED = "clone_created"
CLONE_READY = "clone_ready"
CLONE_CLAIMED = "clone_claimed"
FALLBACK_USED = "fallback_used"
CLONE_MIGRATED = "clone_migrated"
CLONE_EXPIRED = "clone_expired"
CLONE_RELEASED = "clone_released"
CLONE_RETURNED = "clone_returned"
CLONE_FAILED = "clone_failed"
CLONE_DELETED = "clone_deleted"
RESERVE_LOW = "reserve_low"
RESERVE_CHANGED = "reserve_changed"
RESERVE_REMOVED = "reserve_removed"
EVENT_KINDS = (CLONE_CREATED, CLONE_READY, CLONE_CLAIMED, FALLBACK_USED, CLONE_MIGRATED, CLONE_EXPIRED,
               CLONE_RELEASED, CLONE_RETURNED, CLONE_FAILED, CLONE_DELETED, RESERVE_LOW, RESERVE_CHANGED,
               RESERVE_REMOVED)


def check_move(current: str, target: str) -> None:
    """Refuse a move the life cycle does not have (a bug, never user input)."""
    if target not in MOVES.get(current, ()):
        raise PermanentError("a clone cannot go from %s to %s" % (current, target))
