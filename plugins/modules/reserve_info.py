#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: reserve_info
short_description: The clones of one reserve, or of every reserve, their states, counts and hit rate
version_added: 0.1.0
description:
  - Reads the store and returns each reserve's settings, its clones and their states, how many are in
    each state, how many are ready to be claimed, and how many claims found a ready clone (hits) or
    not (misses).
  - Asks no provider and changes nothing.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  name:
    description: Name of the reserve. When not set, every reserve (and the clones a removed reserve handed out).
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
  - module: appgraph.lifecycle.reserve
  - module: appgraph.lifecycle.reserve_claim
"""

EXAMPLES = r"""
- name: The shop reserve
  appgraph.lifecycle.reserve_info:
    name: shop
  register: shop
  delegate_to: localhost

- name: Ready clones and hit rate
  ansible.builtin.debug:
    msg: "{{ shop.reserves[0].available }} ready, hit rate {{ shop.reserves[0].hit_rate }}"
"""

RETURN = r"""
reserves:
  description: One entry per reserve, by name.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the reserve.
      type: str
      sample: shop
    present:
      description: Whether the reserve exists (V(false) - removed; the clones it handed out are listed still).
      type: bool
      sample: true
    settings:
      description: Its settings (C(clone_lifetime) in seconds), provider, template and template digest; none once removed.
      type: dict
      sample: {"full_size": 10, "minimum_size": 1, "refill_window": "00:00-04:00", "timezone": "UTC",
               "clone_lifetime": 82800.0, "clone_prefix": "shop-clone-", "next_clone_id": 1,
               "pool_state": "running", "reuse_on_release": false, "refill_concurrency": 10,
               "provider": "local", "src": "/srv/site.app.yml", "template_digest": "sha256:5f0c..."}
    clones:
      description: Its clones, oldest first, as M(appgraph.lifecycle.reserve) returns them in RV(appgraph.lifecycle.reserve#module:clones).
      type: list
      elements: dict
      sample: [{"name": "shop-clone-1", "clone_id": 1, "state": "migrated", "alias": "acme",
                "application": "acme", "address": "127.0.0.1", "server_status": "running", "current": true,
                "fallback": false, "reason": null, "error": null, "created_at": 1768442400.0,
                "ready_at": 1768442403.1, "claimed_at": 1768449000.2, "migrated_at": 1768449300.0}]
    counts:
      description: How many clones are in each state.
      type: dict
      sample: {"ready": 9, "migrated": 1}
    available:
      description: Ready clones of the current template.
      type: int
      sample: 9
    hits:
      description: Claims served from the reserve.
      type: int
      sample: 41
    misses:
      description: Claims that found it empty.
      type: int
      sample: 2
    hit_rate:
      description: Hits over all claims (none before the first claim).
      type: float
      sample: 0.9535
    window_open:
      description: Whether its refill window is open now.
      type: bool
      sample: false
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule, never_fails
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reserves import reserve_status


def main():
    module = AppGraphModule(dict(name=dict(type="str")))
    module.run(lambda store: reserve_status(store.dsn, module.params["name"]), outcome=never_fails)


if __name__ == "__main__":
    main()
