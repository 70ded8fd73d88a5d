# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server statuses (DESIGN.md "Servers", Spatie's), and the groups of them the flows speak of.

A provider observes only some of them (``ProviderServer.state``): ``new``, ``errored`` and
``hanging`` are the engine's own judgements, and a provider that cannot tell says ``unknown``.
"""

from __future__ import annotations

NEW = "new"
STARTING = "starting"
RUNNING = "running"
REBOOTING = "rebooting"
STOPPING = "stopping"
STOPPED = "stopped"
DELETING = "deleting"
DELETED = "deleted"
ERRORED = "errored"
HANGING = "hanging"
STATUSES = (NEW, STARTING, RUNNING, REBOOTING, STOPPING, STOPPED, DELETING, DELETED, ERRORED, HANGING)
UNKNOWN = "unknown"     # a provider's word for a server it cannot place

# Statuses a flow passes through; a row that stays in one longer than ``hanging_after`` is hanging.
TRANSITIVE = frozenset({NEW, STARTING, REBOOTING, STOPPING, STOPPED, DELETING})
TEARDOWN = frozenset({STOPPING, STOPPED, DELETING})
JUDGEMENTS = frozenset({ERRORED, HANGING})     # the engine's verdicts: resumed from previous_status
# What a pool counts as its servers: DESIGN's starting + running + rebooting, and ``new`` (announced
# by a run that is creating them: counting them keeps two concurrent runs from both creating).
PROVISIONED = (NEW, STARTING, RUNNING, REBOOTING)

# The event written with each status (``new`` announces the provider's create call).
EVENT_KINDS = {NEW: "creating", STARTING: "starting", RUNNING: "running", REBOOTING: "rebooting",
               STOPPING: "stopping", STOPPED: "stopped", DELETING: "deleting", DELETED: "deleted",
               ERRORED: "errored", HANGING: "hanging"}
