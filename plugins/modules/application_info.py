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
  - Never changes anything in the store.
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
    description: Runs normally; it changes nothing.
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
      type: dict
      sample: {"Tomcat": {"/tomcat-vm 1/tomcat": {"ip": "127.0.0.1", "portAJP": 8009}}}
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

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule
from ansible_collections.appgraph.lifecycle.plugins.module_utils.picture import application_report


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        picture=dict(type="path"),
    )
    module = AppGraphModule(argument_spec)
    module.run(lambda store: application_report(store, module.params["name"], module.params["picture"]),
               outcome=lambda result: None)


if __name__ == "__main__":
    main()
