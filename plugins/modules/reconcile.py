#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: reconcile
short_description: Housekeeping of the servers in the store, for a schedule
version_added: 0.1.0
description:
  - Meant to run every few minutes from an AWX schedule or cron (C(playbooks/reconcile.yml)).
  - Advances every pending verification one step, asking the provider once per server; a server
    V(starting) or V(rebooting) that runs now becomes V(running); one V(stopping) that stopped goes on
    to V(stopped), V(deleting) and V(deleted); a running server marked to reboot is rebooted.
  - Marks V(hanging) every server left in a transitive status (V(new), V(starting), V(rebooting),
    V(stopping), V(stopped), V(deleting)) for O(hanging_after) seconds or more; its event says the
    status it was in.
  - Removes from the store the V(deleted) servers whose status changed more than O(prune_after)
    seconds ago. Their events stay.
  - Works on every server of the store, of pools, of reserves and of applications alike.
  - Then makes one housekeeping pass over every reserve (unless O(reserves=false)) - claimed clones are
    migrated to their permanent name, clones a run that died left half-built or half-deleted are
    finished, and, inside each reserve's refill window, stale clones are deleted and the reserve is
    refilled to its C(full_size) (outside it, to its C(minimum_size)). See M(appgraph.lifecycle.reserve).
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  hanging_after:
    description: Seconds a server may stay in a transitive status before it is marked V(hanging).
    type: float
    default: 600
  prune_after:
    description: Seconds a deleted server is kept in the store (7 days by default).
    type: float
    default: 604800
  provider_options:
    description:
      - Per provider name, options added to those stored with each server. This is where the
        credentials go, since the store never keeps them, for example C(ec2) mapped to
        C(aws_access_key_id) and C(aws_secret_access_key) (see the examples).
      - Without them a provider uses its default chain (for V(ec2) the environment, then the AWS profile).
    type: dict
  applications:
    description:
      - Also look after every application in the store - read its servers' heartbeats (a root silent for three
        periods becomes V(problem), a heard one heals) and carry on the work that waits (instances waiting
        for an ancestor or an import that is there now, operations left half-done by a run that died).
    type: bool
    default: true
  reserves:
    description:
      - Also make one housekeeping pass over every reserve (migrate, finish, expire, refill), as
        M(appgraph.lifecycle.reserve) does for one.
    type: bool
    default: true
  provisions:
    description:
      - Also roll back every provision whose run died in V(provisioning) (each part it made undone, in reverse
        order), finish every deprovision that died in V(deprovisioning), and delete the snapshots older than
        their provisioners file's C(keep_days) (M(appgraph.lifecycle.provision)).
    type: bool
    default: true
  application_names:
    description:
      - Look after these applications only (with O(applications=true)), for example the one whose root
        went V(problem) (the C(appgraph.lifecycle.heal) rulebook). Names the store does not have are
        skipped with a warning (RV(unknown)).
      - When not set, every application in the store.
    type: list
    elements: str
  reserve_names:
    description:
      - Make the pass over these reserves only (with O(reserves=true)), for example the one that fell
        below its minimum (the C(appgraph.lifecycle.refill) rulebook). Names the store does not have are
        skipped with a warning (RV(unknown)).
      - When not set, every reserve in the store.
    type: list
    elements: str
extends_documentation_fragment:
  - appgraph.lifecycle.store
  - appgraph.lifecycle.run.parallelism
attributes:
  check_mode:
    description: >-
      Lists the servers that would be marked hanging and pruned, counts the pending ones, and plans the
      applications' waiting work, without writing or calling a provider.
    support: full
  diff_mode:
    description: Returns no diff; RV(advanced), RV(hanging) and RV(pruned) say what changed.
    support: none
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
seealso:
  - module: appgraph.lifecycle.server_pool
  - module: appgraph.lifecycle.reserve
"""

EXAMPLES = r"""
- name: Housekeeping (from a schedule)
  appgraph.lifecycle.reconcile:
  delegate_to: localhost

- name: Carry on one application's waiting work, and nothing else
  appgraph.lifecycle.reconcile:
    application_names: [shop]
    reserves: false
  delegate_to: localhost

- name: Housekeeping of an EC2 fleet with a shared store, keeping deleted servers a day
  appgraph.lifecycle.reconcile:
    store: "postgresql://appgraph@db.example.com/appgraph"
    prune_after: 86400
    provider_options:
      ec2:
        aws_access_key_id: "{{ vault_aws_access_key_id }}"
        aws_secret_access_key: "{{ vault_aws_secret_access_key }}"
  delegate_to: localhost
"""

RETURN = r"""
advanced:
  description: Servers whose pending verification moved them on, with the status reached.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web-4", "status": "running"}]
  contains:
    name:
      description: Name of the server.
      type: str
    status:
      description: Its status now.
      type: str
hanging:
  description: Servers marked V(hanging) (in check mode, that would be).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "web-7", "status": "hanging"}]
  contains:
    name:
      description: Name of the server.
      type: str
    status:
      description: V(hanging).
      type: str
pruned:
  description: Names of the deleted servers removed from the store (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [web-1, web-2]
pending:
  description: How many servers awaited a verification before the task.
  returned: always
  type: int
  sample: 3
applications:
  description:
    - The applications that had something to do (unless O(applications=false)) - roots whose heartbeats
      stopped or came back, and the operations run to carry on waiting work (planned ones in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"application": "shop", "problems": [], "healed": [], "failed": [],
            "operations": [{"operation": "start", "path": "/vm/api", "ok": true, "duration": 0.2}]}]
  contains:
    application:
      description: Name of the application.
      type: str
    problems:
      description: Root instances that became V(problem) (no heartbeat for three periods).
      type: list
      elements: str
    healed:
      description: Root instances back to V(deployed_started) after a heartbeat.
      type: list
      elements: str
    operations:
      description: Operations run (or planned), each with C(operation), C(path) and, when run, C(ok) and C(duration).
      type: list
      elements: dict
    failed:
      description: The operations that failed, with their C(error).
      type: list
      elements: dict
reserves:
  description:
    - One entry per reserve (unless O(reserves=false)), what its pass did, as M(appgraph.lifecycle.reserve)
      returns it - RV(appgraph.lifecycle.reserve#module:built), RV(appgraph.lifecycle.reserve#module:migrated),
      RV(appgraph.lifecycle.reserve#module:expired), RV(appgraph.lifecycle.reserve#module:failed), ...
  returned: always
  type: list
  elements: dict
  sample: [{"reserve": "shop", "window_open": true, "low": false, "available": 9, "target": 10,
            "built": ["shop-clone-12"], "resumed": [], "expired": [{"name": "shop-clone-2", "reason": "lifetime"}],
            "deleted": ["shop-clone-2"], "returned": [], "migrated": [{"name": "shop-clone-4", "alias": "acme"}],
            "failed": [], "pending": [], "changed": true}]
provisions:
  description: What was done to provisions (unless O(provisions=false)).
  returned: unless O(provisions=false)
  type: dict
  contains:
    recovered:
      description: The provisions whose dead run was rolled back or finished, and the state they ended in.
      type: list
      elements: dict
      sample: [{"instance_id": "shop1", "state": "provisioning_error"}]
    failed:
      description: The provisions that could not be recovered, with the C(error).
      type: list
      elements: dict
    pruned:
      description: The snapshot files deleted (older than C(keep_days)).
      type: list
      elements: str
    cleaned:
      description:
        - The exports whose process died in the middle, and the files of theirs removed (C(removed)) - their
          staging folder, their partial archive, an archive renamed but never recorded - or that could not be
          (C(stuck), with the error). An export still running is never touched.
      type: list
      elements: dict
      sample: [{"instance_id": "shop1", "snapshot_id": "3f2a...", "removed": ["/srv/snapshots/.export-3f2a..."], "stuck": []}]
    changed:
      description: Whether anything was recovered, pruned or cleaned.
      type: bool
unknown:
  description: The names in O(application_names) and O(reserve_names) the store has no application or reserve of.
  returned: always
  type: list
  elements: str
  sample: ["application shop-old", "reserve trial"]
summary:
  description: How many servers were advanced, marked hanging and pruned, and how many application operations ran.
  returned: always
  type: dict
  sample: {"advanced": 1, "hanging": 1, "pruned": 2, "operations": 3}
error_kind:
  description: Class of the engine error when the task failed on one.
  returned: on failure caused by the engine refusing the request
  type: str
  sample: InputError
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import (
    AppGraphModule, reconcile_failure, run_argument_spec)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reconcile import reconcile


def main():
    argument_spec = dict(
        hanging_after=dict(type="float", default=600),
        prune_after=dict(type="float", default=604800),
        provider_options=dict(type="dict", no_log=True),
        applications=dict(type="bool", default=True),
        reserves=dict(type="bool", default=True),
        application_names=dict(type="list", elements="str"),
        reserve_names=dict(type="list", elements="str"),
        provisions=dict(type="bool", default=True),
        **run_argument_spec(parallelism=10, wait=False, timeout=False),
    )
    module = AppGraphModule(argument_spec)
    p = module.params
    module.mask_only_secrets(p["provider_options"] or {})

    def call(store):
        result = reconcile(store.dsn, hanging_after=p["hanging_after"], prune_after=p["prune_after"],
                           provider_options=p["provider_options"], check_mode=module.check_mode,
                           applications=p["applications"], parallelism=p["parallelism"], reserves=p["reserves"],
                           application_names=p["application_names"], reserve_names=p["reserve_names"],
                           provisions=p["provisions"])
        for name in result["unknown"]:
            module.warn("the store has no %s: skipped" % name)
        return result

    module.run(call, outcome=reconcile_failure)


if __name__ == "__main__":
    main()
