# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a pool operation does to a pool's rows: a pure decision (no store, no provider)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model.statuses import ERRORED, HANGING, NEW, PROVISIONED, REBOOTING, RUNNING, STARTING, STOPPING

ENSURE, INCREASE, DECREASE, REBOOT, ABSENT = "ensure", "increase", "decrease", "reboot", "absent"
OPERATIONS = (ENSURE, INCREASE, DECREASE, REBOOT, ABSENT)
JUDGED = (ERRORED, HANGING)
_CREATION = frozenset(PROVISIONED)          # a judged row whose previous status is one of these was being made


@dataclass
class Decision:
    new: int = 0                                    # rows to write (before the limit)
    resume: list = field(default_factory=list)      # judged rows being made: made again
    drive: list = field(default_factory=list)       # provisioned rows not running yet
    stop: list = field(default_factory=list)
    reboot: list = field(default_factory=list)      # running rows
    flag: list = field(default_factory=list)        # new/starting/rebooting rows: reboot once up


def _judged_creation(row) -> bool:
    return row.status in JUDGED and row.previous_status in _CREATION


def decide(operation: str, rows: list, amount: int | None, wait: bool) -> Decision:
    """What ``operation`` does to a pool whose non-deleted rows (oldest first) are ``rows``."""
    provisioned = [r for r in rows if r.status in PROVISIONED]
    judged = [r for r in rows if r.status in JUDGED]
    decision = Decision()
    if operation in (ENSURE, INCREASE):
        wanted = amount if operation == ENSURE else len(provisioned) + amount
        missing = wanted - len(provisioned)
        creation = [r for r in judged if _judged_creation(r)]
        decision.resume = creation[:max(missing, 0)]
        decision.new = max(missing - len(decision.resume), 0)
        resumed = {r.name for r in decision.resume}
        decision.stop = [r for r in judged if r.name not in resumed]    # what failed and is not needed
        if missing < 0:
            running = [r for r in provisioned if r.status == RUNNING]
            others = [r for r in provisioned if r.status != RUNNING]
            decision.stop = (running + others)[:-missing] + decision.stop
        if wait:
            stopping = {r.name for r in decision.stop}
            decision.drive = [r for r in provisioned if r.status != RUNNING and r.name not in stopping]
    elif operation == DECREASE:
        decision.stop = [r for r in rows if r.status == RUNNING][:amount]
    elif operation == REBOOT:
        decision.reboot = [r for r in rows if r.status == RUNNING]
        decision.flag = [r for r in rows if r.status in (NEW, STARTING, REBOOTING)]
    elif operation == ABSENT:
        decision.stop = list(rows)
    return decision


def satisfied(rows: list, count: int, provider: str, wait: bool) -> bool:
    """``ensure(count)`` has nothing to do (the fast path: decided from one read)."""
    if any(r.status in JUDGED or r.provider != provider for r in rows):
        return False
    provisioned = [r for r in rows if r.status in PROVISIONED]
    return len(provisioned) == count and (not wait or all(r.status == RUNNING for r in provisioned))


def predicted_counts(rows: list, decision: Decision, new_names: list, wait: bool) -> dict:
    """The counts a check-mode run announces: what the rows would be once the flows are done."""
    status = {r.name: r.status for r in rows}
    for row in decision.resume + decision.drive:
        status[row.name] = RUNNING if wait else STARTING
    for row in decision.stop:
        if wait:
            status.pop(row.name)
        else:
            status[row.name] = STOPPING
    for row in decision.reboot:
        status[row.name] = RUNNING if wait else REBOOTING
    for name in new_names:
        status[name] = RUNNING if wait else STARTING
    counts: dict = {}
    for value in status.values():
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
