# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of modules that run work: ``parallelism``, ``wait``, ``timeout``
(``ansible_common.run_argument_spec`` is their argument spec)."""

from __future__ import annotations


class ModuleDocFragment:

    # Application work: appgraph.lifecycle.run
    DOCUMENTATION = r"""
options:
  parallelism:
    description:
      - How many operations (deploy, start, ...) run at the same time. At least 1.
    type: int
    default: 10
  wait:
    description:
      - When another process is working on some of these instances, wait for it to finish and carry on.
      - When V(false), return at once with what this run could do.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the whole task may take. Operations not yet started then are abandoned (their
        instances go back to their previous state) and the task fails with RV(timed_out=true).
      - No limit when not set (each operation still has its own time limit).
    type: float
"""

    # Server work: appgraph.lifecycle.run.servers
    SERVERS = r"""
options:
  parallelism:
    description:
      - How many servers are worked on at the same time. At least 1.
      - Their flows share the task's store connection (SQLite), or at most 8 connections (PostgreSQL).
    type: int
    default: 20
  wait:
    description:
      - Wait until every server reached its status (V(running), or V(deleted)). The task fails when
        one did not get there within O(timeout).
      - When V(false), each server is asked for (created, stopped, rebooted) and the task returns; a
        later run, or the M(appgraph.lifecycle.reconcile) module, carries the flows on.
    type: bool
    default: true
  timeout:
    description:
      - Seconds each server may take to get there. When not set, until the server would be hanging
        (10 minutes in the same status).
    type: float
"""

    # Housekeeping: appgraph.lifecycle.run.parallelism
    PARALLELISM = r"""
options:
  parallelism:
    description:
      - How many operations of one application may run at once while carrying on its work. At least 1.
    type: int
    default: 10
"""
