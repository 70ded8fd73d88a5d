#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: application_info
short_description: States, order, exports and imports of an application, and a picture of it
version_added: 0.1.0
description:
  - Reads an application from the store and returns every instance with its state, what it exports
    and what it imports now, the order in which instances are deployed and started, and the graph as
    DOT text.
  - Optionally draws the graph as an SVG file (no Graphviz needed), boxes filled with the colour of
    each instance's state, containment edges solid, required imports dashed, optional ones dotted.
    The instances of bound applications that export what this one imports (O(appgraph.lifecycle.application#module:bindings))
    are drawn too, as dashed boxes in their own state, with teal edges to their importers.
  - Returns the template the application was made from, what the template offers other applications
    (RV(exports_prefix), RV(external_exports)), the applications its C(external) imports come from
    (RV(bindings)) and those that import from it (RV(bound_by)).
  - Reads the heartbeats of the application's servers first, as M(appgraph.lifecycle.reconcile) does;
    a started root whose agent has been silent for three heartbeat periods is shown as V(problem), a
    V(problem) root that is heard again as V(deployed_started). That observation is recorded in the
    store (the root's state and an event) and reported with C(changed=true); nothing else is ever
    changed, and in check mode nothing at all (the observation is only shown).
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  name:
    description: Name of the application.
    type: str
    required: true
  picture:
    description:
      - Path of an SVG file to write (replaced atomically when it exists). Its folder must exist.
      - Written in check mode too; it is output, not state.
    type: path
extends_documentation_fragment:
  - appgraph.lifecycle.store
attributes:
  check_mode:
    description: Reads and shows everything, heartbeats included, and records nothing.
    support: full
  diff_mode:
    description: Returns no diff; it changes nothing.
    support: none
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
seealso:
  - module: appgraph.lifecycle.application
"""

EXAMPLES = r"""
- name: Where is every part of the LAMP application, and draw it
  appgraph.lifecycle.application_info:
    name: lamp
    picture: "{{ playbook_dir }}/lamp.svg"
  register: lamp
  delegate_to: localhost

- name: The MySQL port that the web applications see
  ansible.builtin.debug:
    msg: "{{ (lamp.instances | selectattr('component', 'eq', 'Webapp') | first).imports.MySQL }}"

- name: Keep the DOT text for Graphviz users
  ansible.builtin.copy:
    content: "{{ lamp.dot }}"
    dest: "{{ playbook_dir }}/lamp.dot"
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
application:
  description: Name of the application.
  returned: always
  type: str
  sample: lamp
source:
  description: The file or directory the application was last added from.
  returned: always
  type: str
  sample: /srv/apps/lamp.app.yml
template:
  description: The template the application was made from (several applications may share one).
  returned: always
  type: dict
  contains:
    name:
      description: The template's name (the file's C(application), the descriptor's C(name)).
      type: str
      sample: shop
    version:
      description: The template's version (the descriptor's C(version), formerly C(qualifier)), or V(null).
      type: str
      sample: "1.0.0"
    source:
      description: The file or directory it was read from.
      type: str
      sample: /srv/apps/shop
exports_prefix:
  description: The prefix other applications import this one's external exports with, or V(null).
  returned: always
  type: str
  sample: Lamp
external_exports:
  description: What the template offers other applications, C(Component.variable) -> the name they import.
  returned: always
  type: dict
  sample: {"MySQL.ip": "ip", "MySQL.port": "port"}
bindings:
  description: Where this application's C(external) imports come from, prefix -> application names.
  returned: always
  type: dict
  sample: {"Lamp": ["shop-db"]}
bound_by:
  description: The applications bound to this one (that import its external exports).
  returned: always
  type: list
  elements: str
  sample: ["shop-web"]
instances:
  description: Every instance, parents before children, in declaration order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Instance path, Roboconf style.
      type: str
      sample: /tomcat-vm 1/tomcat
    name:
      description: Instance name (last part of the path).
      type: str
      sample: tomcat
    component:
      description: Component (type) of the instance.
      type: str
      sample: Tomcat
    parent:
      description: Path of the parent instance; V(null) for a root (a server).
      type: str
      sample: /tomcat-vm 1
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
    exports:
      description: What the instance exports, C(Prefix.variable) -> value (published values once deployed).
      type: dict
      sample: {"Tomcat.ip": "127.0.0.1", "Tomcat.portAJP": 8009}
    imports:
      description:
        - What the instance imports now, from started exporters only,
          C(Prefix) -> exporter path -> variable -> value.
        - An exporter of a bound application is named C(<application>:<path>).
      type: dict
      sample: {"Tomcat": {"/tomcat-vm 1/tomcat": {"ip": "127.0.0.1", "portAJP": 8009}},
               "Lamp": {"shop-db:/db-vm/db": {"ip": "10.0.0.5", "port": 3306}}}
    data:
      description: The runtime data kept with the instance (Roboconf's C(data.*) and C(instance-data), the file's C(data)).
      type: dict
      sample: {"ec2.elastic.ip": "192.168.1.10"}
    last_error:
      description:
        - The error of the instance's last operation when it failed, kept until an operation of the instance
          succeeds (in a later run too); V(null) otherwise. The picture draws such an instance red.
      type: str
      sample: "deploy of /tomcat-vm 1/tomcat failed: deploy.sh exited with 3: the disk is full"
order:
  description: Instance paths in the order deployments and starts follow (containment and required imports).
  returned: always
  type: list
  elements: str
  sample: ["/apache-vm", "/tomcat-vm 1", "/tomcat-vm 1/tomcat", "/apache-vm/apache"]
dot:
  description: The graph in Graphviz DOT, nodes filled with the colour of their state.
  returned: always
  type: str
  sample: "digraph \"lamp\" {\n  \"/apache-vm\" -> \"/apache-vm/apache\" [style=solid];\n}\n"
picture:
  description: Absolute path of the SVG file written.
  returned: when O(picture) is given
  type: str
  sample: /home/me/lamp.svg
error_kind:
  description: Class of the engine error when the task failed on one.
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
      sample: name
hint:
  description: How to fix a bad input.
  returned: on failure caused by bad input, when there is a hint
  type: str
  sample: add it first with state=present and src=<file>
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule, never_fails
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.info import application_report


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        picture=dict(type="path"),
    )
    module = AppGraphModule(argument_spec)
    p = module.params
    module.run(lambda store: application_report(store, p["name"], p["picture"], check_mode=module.check_mode),
               outcome=never_fails)


if __name__ == "__main__":
    main()
