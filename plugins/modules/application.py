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
  - The file is a template (Roboconf's application template); any number of applications may be made from
    it, each with its own O(name), instances, states and servers. Without O(name), the application is the
    one the file names.
  - An application imports C(external <Prefix>.<variable>) from the applications it is bound to
    (O(bindings)); a required one blocks like any other import, and chain reactions cross the applications;
    once this one is converged, those that import from it converge too (RV(reactions)).
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
      - Name of the application.
      - Required unless O(src) is given; default the name O(src) gives (its C(application) key, or the
        Roboconf descriptor's C(name)). Letters, digits, spaces, C(.), C(_), C(-), C(() and C()).
      - With O(src), an application of another name is made from that template (C(shop-staging) and
        C(shop-prod) from one C(shop) file). An application stays with the template it was made from.
    type: str
  src:
    description:
      - The template, an C(*.app.yml) file or a Roboconf application directory (with
        C(descriptor/application.properties)).
      - Needed when the application is first added or has changed; without it the stored model is used.
      - With a life-cycle O(state), the application is added or updated first, then converged.
    type: path
  bindings:
    description:
      - Where the application's C(external <Prefix>.<variable>) imports come from, a prefix -> the names of
        applications whose template says C(exports_prefix) (Roboconf's C(exports-prefix)) is that prefix.
        Every exporter of every bound application counts, as exporters of the application itself do.
      - Replaces the stored bindings; V({}) removes them; when not given, the stored ones stay.
      - Refused with an error naming it, a prefix no component imports as C(external), an application that
        is not in the store, one whose template offers another prefix, the application itself, and bindings
        that would make a cycle (applications importing from each other, even through others).
    type: dict
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
  limits:
    description:
      - Caps on what an application file may ask for, so that a hostile or broken file gets an error
        instead of hanging the controller. Each cap not given here comes from its environment
        variable on the controller, else its default.
    type: dict
    suboptions:
      max_instances:
        description: Instances after C(count) expansion (E(APPGRAPH_MAX_INSTANCES); default 100000).
        type: int
      max_depth:
        description: Nesting of maps and lists, and of C(extends) chains (E(APPGRAPH_MAX_DEPTH); default 64, at most 200).
        type: int
      max_alias_nodes:
        description: Nodes that YAML aliases add (E(APPGRAPH_MAX_ALIAS_NODES); default 10000). A recursive alias is always refused.
        type: int
      max_document_bytes:
        description: Size of each file read (E(APPGRAPH_MAX_DOCUMENT_BYTES); default 67108864, 64 MiB).
        type: int
      max_dependencies:
        description: Exporter-importer instance pairs, and component-child pairs (E(APPGRAPH_MAX_DEPENDENCIES); default 1000000).
        type: int
extends_documentation_fragment:
  - appgraph.lifecycle.store
  - appgraph.lifecycle.run
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

- name: Two applications from one template, each with its own instances and servers
  appgraph.lifecycle.application:
    name: "shop-{{ item }}"
    src: files/shop
    state: started
  loop: [staging, prod]
  delegate_to: localhost

- name: The web application imports 'external Lamp.*' from the database application
  appgraph.lifecycle.application:
    name: shop-web
    src: files/web.app.yml
    bindings:
      Lamp: [shop-db]
    state: started
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
    checked:
      description:
        - In check mode, true when the C(ansible) installer ran its playbook with C(--check --diff)
          (an operation of the first wave, on a server that exists), false when that failed.
      type: bool
      returned: in check mode, for those operations
      sample: true
    batch:
      description:
        - The C(ansible) installer's run that did it; operations of one component and kind that were
          ready together share one run (one C(ansible-runner) over all their hosts).
      type: str
      returned: when the ansible installer ran a playbook for it
      sample: 20261202T050412-App-1c2d3e4f-start-9a8b7c6d
    batch_hosts:
      description: How many hosts (instances) that run had.
      type: int
      returned: when the ansible installer ran a playbook for it
      sample: 20
    log:
      description: The whole log of that run (its C(ansible-runner) artifacts' C(stdout)).
      type: str
      returned: when the ansible installer ran a playbook for it
      sample: /home/me/.local/state/appgraph/appgraph.db.work/ansible-runs/shop-1a2b3c4d/20261202T050412-App-1c2d3e4f-start-9a8b7c6d/artifacts/run/stdout
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
warnings:
  description:
    - What Roboconf only warns about in the file (it is read when it changed), each with its file and line
      (C(file:line:column) then the message and a hint), shown by C(ansible-playbook) as warnings; Ansible's
      own C(warnings) key of the result holds them. A variable an instance sets that its component does not
      declare, an override of several different variables of one name, a facet no component has, a
      prefixed export that overrides nothing.
  returned: when there is any
  type: list
  elements: str
  sample: ["apps/shop/instances/initial.instances:4:3: ip: 'VM' does not export 'ip': the instance keeps it as a
            variable of its own (hint: its recipes see it; importers do not)"]
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
    AppGraphModule, run_argument_spec)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.limits import from_option


def main():
    argument_spec = dict(
        name=dict(type="str"),
        src=dict(type="path"),
        state=dict(type="str", default="present",
                   choices=["present", "absent", "deployed", "started", "stopped", "undeployed"]),
        instance_path=dict(type="str"),
        bindings=dict(type="dict"),
        limits=dict(type="dict", options=dict(max_instances=dict(type="int"), max_depth=dict(type="int"),
                                              max_alias_nodes=dict(type="int"), max_document_bytes=dict(type="int"),
                                              max_dependencies=dict(type="int"))),
        **run_argument_spec(parallelism=10),
    )
    module = AppGraphModule(argument_spec, required_one_of=[("name", "src")])
    p = module.params
    module.run(lambda store: ensure_application(
        store, name=p["name"], src=p["src"], state=p["state"], instance_path=p["instance_path"],
        parallelism=p["parallelism"], timeout=p["timeout"], wait=p["wait"], check_mode=module.check_mode,
        limits=from_option(p["limits"]), bindings=p["bindings"]))


if __name__ == "__main__":
    main()
