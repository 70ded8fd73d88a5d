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
  - Works on every server of the store, of pools and of applications alike.
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
  parallelism:
    description: How many operations of one application may run at once while carrying on its work.
    type: int
    default: 10
extends_documentation_fragment:
  - appgraph.lifecycle.store
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
"""

EXAMPLES = r"""
- name: Housekeeping (from a schedule)
  appgraph.lifecycle.reconcile:
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

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule
from ansible_collections.appgraph.lifecycle.plugins.module_utils.pools import public_values
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reconcile import reconcile


def main():
    argument_spec = dict(
        hanging_after=dict(type="float", default=600),
        prune_after=dict(type="float", default=604800),
        provider_options=dict(type="dict", no_log=True),
        applications=dict(type="bool", default=True),
        parallelism=dict(type="int", default=10),
    )
    module = AppGraphModule(argument_spec)
    params = module.params
    # Only the credentials among the options stay masked in the output (the option is no_log).
    for provider, options in (params["provider_options"] or {}).items():
        module.no_log_values.difference_update(public_values(provider, options if isinstance(options, dict) else {}))
    module.run(lambda store: reconcile(store.dsn, hanging_after=params["hanging_after"],
                                       prune_after=params["prune_after"], provider_options=params["provider_options"],
                                       check_mode=module.check_mode, applications=params["applications"],
                                       parallelism=params["parallelism"]),
               outcome=_failed_operations)


def _failed_operations(result):
    failed = ["%s: %s %s: %s" % (a["application"], op["operation"], op["path"], op.get("error", "failed"))
              for a in result["applications"] for op in a["failed"]]
    return "%d operation(s) failed:\n%s" % (len(failed), "\n".join(failed)) if failed else None


if __name__ == "__main__":
    main()
