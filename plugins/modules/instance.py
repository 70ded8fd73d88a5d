#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: instance
short_description: Deploy, start, stop or undeploy one instance of an application
version_added: 0.1.0
description:
  - Brings one instance of an application already in the store to a life-cycle state, with Roboconf's
    single-instance semantics. Deploying needs a deployed parent; starting an instance whose parent is
    not started leaves it V(waiting_for_ancestor), and one whose required imports are missing leaves it
    V(unresolved); either starts by itself as soon as what it waits for is there.
  - Stopping an instance stops what it contains too, and (chain reaction) the started instances that
    need its exports; undeploying it undeploys its subtree.
  - To work on a whole application or subtree at once (in parallel), use M(appgraph.lifecycle.application).
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  application:
    description: Name of the application (added before with M(appgraph.lifecycle.application)).
    type: str
    required: true
  path:
    description: Path of the instance, Roboconf style, for example V(/tomcat-vm 1/tomcat).
    type: str
    required: true
  state:
    description: The life-cycle state to reach.
    type: str
    choices: [deployed, started, stopped, undeployed]
    required: true
  wait_for_ancestors:
    description:
      - When V(true), the task waits (polling the store every second) until the instance is in the state
        asked for, an operation fails, or O(timeout) passes; it then fails, saying what the instance still
        waits for. Without O(timeout) it waits up to an hour; meanwhile another task, playbook or process must
        start what the instance waits for (its parent, or an exporter of a required import).
      - When V(false), an instance left V(waiting_for_ancestor) or V(unresolved) is reported
        (RV(instance.state) and RV(msg)) without failing the task; it starts by itself later, when a later
        run finds what it waits for.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the task may take, waiting included. When not set, one hour if O(wait_for_ancestors=true),
        else no limit (each operation still has its own).
    type: float
extends_documentation_fragment:
  - appgraph.lifecycle.store
attributes:
  check_mode:
    description: Returns the plan (operations and the state they would lead to) without running anything.
    support: full
  diff_mode:
    description: Shows the instance's state before and after, when it changes.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
seealso:
  - module: appgraph.lifecycle.application
"""

EXAMPLES = r"""
- name: Start MySQL (its server must be deployed; it waits for nothing else)
  appgraph.lifecycle.instance:
    application: lamp
    path: /mysql-vm/mysql
    state: started
  delegate_to: localhost

- name: Start the web application, waiting at most 5 minutes for its Tomcat and for MySQL
  appgraph.lifecycle.instance:
    application: lamp
    path: /tomcat-vm 1/tomcat/app
    state: started
    timeout: 300
  delegate_to: localhost

- name: Ask for the web application to start whenever its server and imports allow
  appgraph.lifecycle.instance:
    application: lamp
    path: /tomcat-vm 1/tomcat/app
    state: started
    wait_for_ancestors: false
  register: app
  delegate_to: localhost

- name: Say what it waits for
  ansible.builtin.debug:
    msg: "{{ app.instance.state }}: {{ app.msg | default('started') }}"
"""

RETURN = r"""
application:
  description: Name of the application.
  returned: always
  type: str
  sample: lamp
instance:
  description: The instance after the task (in check mode, the state it would reach).
  returned: always
  type: dict
  contains:
    path:
      description: Instance path.
      type: str
      sample: /mysql-vm/mysql
    component:
      description: Component (type) of the instance.
      type: str
      sample: MySQL
    state:
      description:
        - Actual state, one of V(not_deployed), V(deploying), V(deployed_stopped), V(starting),
          V(deployed_started), V(stopping), V(undeploying), V(unresolved), V(waiting_for_ancestor), V(problem).
      type: str
      sample: deployed_started
    desired_state:
      description: What was last asked for it (V(not_deployed), V(deployed_stopped) or V(deployed_started)).
      type: str
      sample: deployed_started
msg:
  description: What the instance waits for, when it is left V(waiting_for_ancestor) or V(unresolved).
  returned: when the instance waits
  type: str
  sample: /tomcat-vm 1/tomcat/app waits for an ancestor to be started; it starts by itself then
operations:
  description:
    - The operations run (in check mode, planned), on this instance and on the others that had to
      follow (its subtree, importers stopped by a chain reaction).
  returned: always
  type: list
  elements: dict
  contains:
    operation:
      description: V(deploy), V(start), V(update), V(stop) or V(undeploy).
      type: str
      sample: start
    path:
      description: Path of the instance it ran on.
      type: str
      sample: /mysql-vm/mysql
    ok:
      description: Whether it succeeded.
      type: bool
      returned: when the operation ran (not in check mode)
      sample: true
    duration:
      description: Seconds it took.
      type: float
      returned: when the operation ran (not in check mode)
      sample: 0.42
    error:
      description: Why it failed.
      type: str
      returned: when it failed
      sample: "script start.sh exited with 1"
    cancelled:
      description: True when it never started because the task's time ran out.
      type: bool
      returned: when it was cancelled
      sample: true
    planned:
      description: True in check mode, where nothing runs.
      type: bool
      returned: in check mode
      sample: true
failed_operations:
  description: The operations of RV(operations) that failed (the task then fails).
  returned: always
  type: list
  elements: dict
  contains:
    operation:
      description: V(deploy), V(start), V(update), V(stop) or V(undeploy).
      type: str
      sample: start
    path:
      description: Path of the instance it ran on.
      type: str
      sample: /mysql-vm/mysql
    ok:
      description: Always V(false).
      type: bool
      sample: false
    duration:
      description: Seconds it took.
      type: float
      sample: 0.42
    error:
      description: Why it failed.
      type: str
      sample: "script start.sh exited with 1"
timed_out:
  description: Whether O(timeout) ran out first (the task then fails).
  returned: always
  type: bool
  sample: false
reactions:
  description:
    - The chain reactions across applications once this one was converged, one entry per application bound
      to it (directly or through others) that ran something, exporters first.
    - Their failures do not fail this task; each application's own task, or M(appgraph.lifecycle.reconcile), reports them.
  returned: always
  type: list
  elements: dict
  contains:
    application:
      description: The application that reacted.
      type: str
      sample: shop-web
    operations:
      description: What it ran, as in RV(operations).
      type: list
      elements: dict
      sample: [{"operation": "stop", "path": "/web-vm/web", "ok": true, "duration": 0.2}]
    failed_operations:
      description: Those of its operations that failed.
      type: list
      elements: dict
      sample: []
    timed_out:
      description: Whether the task's time ran out during the reaction.
      type: bool
      sample: false
error_kind:
  description: Class of the engine error when the task failed on one (V(InputError), V(PermanentError), ...).
  returned: on failure caused by the engine refusing the request
  type: str
  sample: InputError
error_location:
  description: Where a bad input is, when the task failed on one.
  returned: on failure caused by bad input
  type: dict
  contains:
    file:
      description: File (or V(<input>) for a task option).
      type: str
      sample: <input>
    line:
      description: Line, 1-based (0 when unknown).
      type: int
      sample: 0
    column:
      description: Column, 1-based (0 when unknown).
      type: int
      sample: 0
    key:
      description: The offending key or option.
      type: str
      sample: path
hint:
  description: How to fix a bad input.
  returned: on failure caused by bad input, when there is a hint
  type: str
  sample: "did you mean '/mysql-vm/mysql'?"
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import (
    AppGraphModule, instance_failure, run_argument_spec)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.instance import instance_task


def main():
    argument_spec = dict(
        application=dict(type="str", required=True),
        path=dict(type="str", required=True),
        state=dict(type="str", required=True, choices=["deployed", "started", "stopped", "undeployed"]),
        wait_for_ancestors=dict(type="bool", default=True),
        **run_argument_spec(parallelism=None, wait=False),
    )
    module = AppGraphModule(argument_spec)
    p = module.params
    module.run(lambda store: instance_task(store, p["application"], p["path"], p["state"],
                                           wait_for_ancestors=p["wait_for_ancestors"], timeout=p["timeout"],
                                           check_mode=module.check_mode),
               outcome=instance_failure(p["wait_for_ancestors"], module.check_mode))


if __name__ == "__main__":
    main()
