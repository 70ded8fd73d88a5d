#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: application
short_description: Add, remove, deploy, start, stop or undeploy a distributed application
version_added: 0.1.0
description:
  - Adds an application described by an C(*.app.yml) file or a Roboconf application directory to the
    store, updates it when the file changed, or removes it.
  - Brings the whole application, or the subtree under O(instance_path), to a life-cycle state with
    Roboconf's semantics. Instances are worked on in parallel, in the order that containment and
    required imports impose; instances that wait for an ancestor or for their imports start by
    themselves once these are there.
  - In check mode nothing is written and nothing runs; the returned RV(instances) and
    RV(operations) are the plan.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  name:
    description:
      - Name of the application (the C(application) key of its file).
      - Required unless O(src) is given. When both are given they must match.
    type: str
  src:
    description:
      - An C(*.app.yml) file or a Roboconf application directory (with C(descriptor/application.properties)).
      - Needed when the application is first added or has changed; without it the stored model is used.
      - With a life-cycle O(state), the application is added or updated first, then converged.
    type: path
  state:
    description:
      - V(present) adds or updates the application and runs nothing.
      - V(absent) removes it from the store. Refused while any of its root instances is deployed
        (undeploy it first with V(undeployed)).
      - V(deployed) deploys every instance (roots are servers, their children are installed but stopped).
      - V(started) deploys and starts every instance.
      - V(stopped) stops every started instance below the roots (servers keep running).
      - V(undeployed) undeploys the roots, and so the whole application.
    type: str
    choices: [present, absent, deployed, started, stopped, undeployed]
    default: present
  instance_path:
    description:
      - Limit a life-cycle O(state) to the instance at this path and what it contains,
        for example V(/tomcat-vm 1/tomcat).
    type: str
  parallelism:
    description:
      - How many operations (deploy, start, ...) run at the same time.
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
extends_documentation_fragment:
  - appgraph.lifecycle.store
attributes:
  check_mode:
    description: Returns the plan (operations and the states they would lead to) without running anything.
    support: full
  diff_mode:
    description: Shows each instance whose state changes, with its state before and after.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
notes:
  - The task fails when an operation fails; the message lists each failed operation with its error, and
    RV(instances) still tells where every instance is.
  - Running the task again changes nothing once every instance is in the requested state.
seealso:
  - module: appgraph.lifecycle.instance
  - module: appgraph.lifecycle.application_info
"""

EXAMPLES = r"""
- name: Add the LAMP application and start all of it
  appgraph.lifecycle.application:
    src: files/lamp.app.yml
    state: started
  delegate_to: localhost

- name: Stop the second Tomcat server's software only
  appgraph.lifecycle.application:
    name: lamp
    state: stopped
    instance_path: /tomcat-vm 2/tomcat
  delegate_to: localhost

- name: Tear everything down, then forget the application
  appgraph.lifecycle.application:
    name: lamp
    state: "{{ item }}"
    store: /var/lib/appgraph/appgraph.db
  loop: [undeployed, absent]
  delegate_to: localhost

- name: What would starting it do?
  appgraph.lifecycle.application:
    name: lamp
    state: started
  check_mode: true
  register: plan
  delegate_to: localhost
"""

RETURN = r"""
application:
  description: Name of the application.
  returned: always
  type: str
  sample: lamp
instances:
  description:
    - Every instance in scope (the application, or the subtree under O(instance_path)) and its state
      after the task (in check mode, the state it would reach). Empty when O(state=absent).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Instance path, Roboconf style.
      type: str
      sample: /tomcat-vm 1/tomcat
    component:
      description: Component (type) of the instance.
      type: str
      sample: Tomcat
    state:
      description:
        - Actual state, one of V(not_deployed), V(deploying), V(deployed_stopped), V(starting),
          V(deployed_started), V(stopping), V(undeploying), V(unresolved), V(waiting_for_ancestor), V(problem).
      type: str
      sample: deployed_started
    desired_state:
      description: What was last asked for the instance (V(not_deployed), V(deployed_stopped) or V(deployed_started)).
      type: str
      sample: deployed_started
operations:
  description: The operations run (in check mode, planned), in the order they ended (were planned).
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
      sample: "script deploy.sh exited with 3"
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
  description: The operations of RV(operations) that failed (cancelled ones excluded). The task fails when there is any.
  returned: always
  type: list
  elements: dict
  contains:
    operation:
      description: V(deploy), V(start), V(update), V(stop) or V(undeploy).
      type: str
      sample: deploy
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
      sample: "script deploy.sh exited with 3"
timed_out:
  description: Whether O(timeout) ran out before every instance reached its desired state (the task then fails).
  returned: always
  type: bool
  sample: false
added:
  description: Instance paths that the task added to the store (new application, or new in the file).
  returned: always
  type: list
  elements: str
  sample: ["/apache-vm", "/apache-vm/apache"]
removed:
  description: Instance paths that left the file and were removed from the store (they were not deployed).
  returned: always
  type: list
  elements: str
  sample: []
error_location:
  description: Where a bad input is, when the task failed on one (a bad application file).
  returned: on failure caused by bad input
  type: dict
  contains:
    file:
      description: File (or V(<input>)).
      type: str
      sample: files/lamp.app.yml
    line:
      description: Line, 1-based (0 when unknown).
      type: int
      sample: 7
    column:
      description: Column, 1-based (0 when unknown).
      type: int
      sample: 5
    key:
      description: The offending key.
      type: str
      sample: imports
error_kind:
  description: Class of the engine error when the task failed on one (V(InputError), V(PermanentError), ...).
  returned: on failure caused by the engine refusing the request
  type: str
  sample: PermanentError
hint:
  description: How to fix a bad input.
  returned: on failure caused by bad input, when there is a hint
  type: str
  sample: "add 'installer: script' (or server, noop, ansible)"
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import (
    AppGraphModule, ensure_application)


def main():
    argument_spec = dict(
        name=dict(type="str"),
        src=dict(type="path"),
        state=dict(type="str", default="present",
                   choices=["present", "absent", "deployed", "started", "stopped", "undeployed"]),
        instance_path=dict(type="str"),
        parallelism=dict(type="int", default=10),
        wait=dict(type="bool", default=True),
        timeout=dict(type="float"),
    )
    module = AppGraphModule(argument_spec, required_one_of=[("name", "src")])
    if module.params["parallelism"] < 1:
        module.fail_json(msg="parallelism must be at least 1, got %d" % module.params["parallelism"])
    module.run(lambda store: ensure_application(store, module.params, module.check_mode))


if __name__ == "__main__":
    main()
