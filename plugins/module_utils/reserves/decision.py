# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one housekeeping pass does to a reserve's clones: a pure decision (no store, no provider,
no clock of its own: ``now`` and whether the window is open are given).

The rules, in the order a pass applies them:

1. **finish what was left**: a clone some process was working on (``building``, ``claimed`` before
   its migration, ``returning``, ``deleting``) and nobody works on now (no live lease) is taken up:
   built again (its server flow and converge resume where they stopped), migrated, given back, or
   deleted. A ``building`` clone of an older template is deleted instead.
2. **expire** (inside the window only, as Aegir deletes old clones at night): ``ready`` clones built
   from an older template (Aegir could not tell), and those older than ``clone_lifetime`` (0:
   never); and, when ``full_size`` was lowered, the oldest ready ones beyond it.
3. **refill**: inside the window up to ``full_size``; at any time up to ``minimum_size`` (the
   emergency reserve). Only ``building`` and ``ready`` clones of the current template count: a
   clone on its way out never does.
4. **low**: fewer ready clones of the current template than ``minimum_size`` (a ``reserve_low``
   event).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .durations import outlived
from .settings import Settings
from .states import (ABSENT, BUILDING, CLAIMED, DELETING, LIFETIME, READY, RETURNING, SURPLUS, TEMPLATE)


@dataclass
class Plan:
    window_open: bool
    available: int = 0              # ready clones of the current template, after the expiry
    counted: int = 0                # building + ready clones of the current template, after the expiry
    target: int = 0                 # what the pass fills the reserve up to
    build: int = 0                  # new clones to make
    resume: list = field(default_factory=list)      # building clones to build again
    expire: list = field(default_factory=list)      # [(clone, reason)]: to delete
    teardown: list = field(default_factory=list)    # deleting clones to delete again
    migrate: list = field(default_factory=list)     # claimed clones to migrate to their permanent name
    give_back: list = field(default_factory=list)   # returning clones to finish returning
    minimum: int = 0

    @property
    def low(self) -> bool:
        return self.available < self.minimum

    @property
    def acts(self) -> bool:
        return bool(self.build or self.resume or self.expire or self.teardown or self.migrate or self.give_back)


def decide(settings: Settings, clones: list, digest: str, now: float, window_open: bool, busy: set) -> Plan:
    """The plan for ``clones`` (a reserve's rows, oldest first). ``busy``: ids of the clones some
    live process works on (leases); ``digest``: the current template's."""
    plan = Plan(window_open=window_open, minimum=settings.minimum_size)
    ready, building = [], 0
    for clone in clones:
        current = clone.template_digest == digest
        if clone.id in busy:
            building += clone.state == BUILDING and current
            ready += [clone] if clone.state == READY and current else []
            continue
        _finish(plan, clone, current)
        if clone.state == BUILDING and current:
            building += 1
        elif clone.state == READY:
            reason = _expiry(clone, current, settings, now) if window_open else None
            if reason:
                plan.expire.append((clone, reason))
            elif current:
                ready.append(clone)
    if window_open and len(ready) + building > settings.full_size:
        surplus = ready[:min(len(ready), len(ready) + building - settings.full_size)]
        plan.expire += [(clone, SURPLUS) for clone in surplus]
        ready = ready[len(surplus):]
    plan.available, plan.counted = len(ready), len(ready) + building
    plan.target = settings.full_size if window_open else max(settings.minimum_size, 0)
    plan.build = max(0, plan.target - plan.counted)
    return plan


def _finish(plan: Plan, clone, current: bool) -> None:
    """Rule 1: take up what a process left (nobody holds the clone's lease)."""
    if clone.state == BUILDING:
        if current:
            plan.resume.append(clone)
        else:
            plan.expire.append((clone, TEMPLATE))
    elif clone.state == CLAIMED:
        plan.migrate.append(clone)
    elif clone.state == RETURNING:
        plan.give_back.append(clone)
    elif clone.state == DELETING:
        plan.teardown.append(clone)


def _expiry(clone, current: bool, settings: Settings, now: float) -> str | None:
    if not current:
        return TEMPLATE
    if outlived(clone.ready_at, settings.clone_lifetime, now):
        return LIFETIME
    return None


def decide_absent(clones: list, busy: set) -> Plan:
    """The reserve is removed: every clone it still holds goes (claimed ones stay, migrated)."""
    plan = Plan(window_open=True)
    for clone in clones:
        if clone.id in busy:
            continue
        if clone.state in (BUILDING, READY, RETURNING):
            plan.expire.append((clone, ABSENT))
        else:
            _finish(plan, clone, True)
    return plan
