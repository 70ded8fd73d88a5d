#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: server_pool_info
short_description: The servers of one pool, or of every pool, with their statuses
version_added: 0.1.0
description:
  - Reads the store and returns the servers of a pool (or of all pools) that are not deleted, with
    their status, provider and address, and how many are in each status.
  - Asks no provider and changes nothing. A server's status is the one its last flow recorded; the
    M(appgraph.lifecycle.reconcile) module brings pending ones up to date.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  name:
    description: Name of the pool. When not set, every pool.
    type: str
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
  - module: appgraph.lifecycle.server_pool
"""

EXAMPLES = r"""
- name: The web servers
  appgraph.lifecycle.server_pool_info:
    name: web
  register: web
  delegate_to: localhost

- name: Their addresses
  ansible.builtin.debug:
    msg: "{{ web.servers | selectattr('status', 'eq', 'running') | map(attribute='address') | list }}"

- name: Every pool and its counts
  appgraph.lifecycle.server_pool_info:
  register: all_pools
  delegate_to: localhost
"""

RETURN = r"""
servers:
  description: The servers (not the deleted ones), by pool, oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the server.
      type: str
      sample: web-3
    status:
      description:
        - V(new), V(starting), V(running), V(rebooting), V(stopping), V(stopped), V(deleting), V(errored) or V(hanging).
      type: str
      sample: running
    provider:
      description: The provider the server is at.
      type: str
      sample: local
    address:
      description: The server's address, once the provider gave one.
      type: str
      sample: 127.0.0.1
    provider_id:
      description: The provider's id of the server.
      type: str
      sample: web-3
    server_type:
      description: The pool.
      type: str
      sample: web
    error:
      description: The provider's error when the server is V(errored) or V(hanging).
      type: str
      sample: "RuntimeError: quota exceeded"
counts:
  description: How many of these servers are in each status.
  returned: always
  type: dict
  sample: {"running": 3, "errored": 1}
pools:
  description: Per pool, the provider it was first used with and its counts (a pool whose servers are all deleted has empty counts).
  returned: always
  type: dict
  sample: {"web": {"provider": "local", "counts": {"running": 3}}}
error_kind:
  description: Class of the engine error when the task failed on one.
  returned: on failure caused by the engine refusing the request
  type: str
  sample: InputError
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule, never_fails
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.pools import pool_status


def main():
    module = AppGraphModule(dict(name=dict(type="str")))
    module.run(lambda store: pool_status(store.dsn, module.params["name"]), outcome=never_fails)


if __name__ == "__main__":
    main()
