#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: reserve_claim
short_description: Take a ready clone from a reserve under a permanent name, or release it
version_added: 0.1.0
description:
  - Takes the oldest ready clone of the reserve (built from its current template) and gives it
    O(name) as its alias, in one store transaction; the clone is a ready site at once, and the task
    returns its server (name, address, alias, clone id). The next housekeeping pass (M(appgraph.lifecycle.reserve)
    or M(appgraph.lifecycle.reconcile)) migrates it, renaming its application to O(name).
  - Two claims, from any number of processes sharing the store (SQLite or PostgreSQL), never get the
    same clone. A claim for a name already claimed returns the same clone again (it is idempotent).
    A claimed clone never goes back to the reserve by itself.
  - When the reserve has no ready clone, a clone is made at once under O(name) itself (a cold create,
    which takes the whole build; a C(fallback_used) event says so), or, with O(fallback=false), the task
    fails.
  - O(state=absent) releases the clone claimed under O(name) - it is deleted, or goes back to the reserve
    when the reserve reuses released clones.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  reserve:
    description: Name of the reserve.
    type: str
    required: true
  name:
    description:
      - The permanent name, 1 to 64 letters, digits, V(.), V(_) or V(-), starting with a letter or a digit.
        It becomes the name of the clone's application, so no application may have it already; names
        are unique in the store.
    type: str
    required: true
  state:
    description:
      - V(present) claims a clone under O(name) (or returns the one claimed under it already).
      - V(absent) releases it.
    type: str
    choices: [present, absent]
    default: present
  fallback:
    description:
      - When the reserve is empty, make a clone under O(name) at once (V(true)), or fail (V(false)).
    type: bool
    default: true
  provider_options:
    description:
      - Credentials for the reserve's provider (a fallback create, a deletion), never stored and masked
        in the output. Only the secret options are used; the others are the reserve's.
    type: dict
  timeout:
    description:
      - Seconds a fallback create's server may take to get there. When not set, until the server would
        be hanging (10 minutes in the same status).
    type: float
extends_documentation_fragment:
  - appgraph.lifecycle.store
attributes:
  check_mode:
    description: Returns the clone that would be claimed (or released), without writing or calling a provider.
    support: full
  diff_mode:
    description: Shows the alias and the clone before and after.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
notes:
  - A claim from a reserve with O(appgraph.lifecycle.reserve#module:pool_state=stopped) starts the clone's
    application before it returns.
seealso:
  - module: appgraph.lifecycle.reserve
  - module: appgraph.lifecycle.reserve_info
"""

EXAMPLES = r"""
- name: A shop for the customer acme, at once
  appgraph.lifecycle.reserve_claim:
    reserve: shop
    name: acme
  register: claimed
  delegate_to: localhost

- name: Where it is
  ansible.builtin.debug:
    msg: "acme is {{ claimed.server.name }} at {{ claimed.server.address }}"

- name: Only from the reserve, never a cold create
  appgraph.lifecycle.reserve_claim:
    reserve: shop
    name: bigcorp
    fallback: false
  delegate_to: localhost

- name: acme leaves
  appgraph.lifecycle.reserve_claim:
    reserve: shop
    name: acme
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
reserve:
  description: Name of the reserve.
  returned: always
  type: str
  sample: shop
server:
  description: The clone claimed under O(name) (in check mode, the one that would be).
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: The clone's name, also its server's (O(name) itself for a fallback create).
      type: str
      sample: shop-clone-3
    alias:
      description: The permanent name, O(name).
      type: str
      sample: acme
    address:
      description: Its server's address.
      type: str
      sample: 127.0.0.1
    clone_id:
      description: Its id in the reserve (none for a fallback create).
      type: int
      sample: 3
    fallback_used:
      description: Whether the reserve was empty and the clone was made by this claim.
      type: bool
      sample: false
    state:
      description: V(claimed), or V(migrated) once its application took the permanent name.
      type: str
      sample: claimed
    application:
      description: Its application's name now (the clone's name until it is migrated, then O(name)).
      type: str
      sample: shop-clone-3
    exports:
      description: The exported values of its application's instances, by instance path (its port, ...).
      type: dict
      sample: {"/vm/site": {"Site.ip": "127.0.0.1", "Site.port": 43117}}
claim:
  description:
    - V(claimed) (a ready clone was taken), V(existing) (the name was claimed already), V(fallback) (the
      reserve was empty, so it was made now) or V(resume) (a fallback create that a run that died left, finished now).
  returned: when O(state=present)
  type: str
  sample: claimed
claim_seconds:
  description: Seconds the claim's store transaction took.
  returned: when O(state=present)
  type: float
  sample: 0.0009
released:
  description: The clone released (none when nothing was claimed under O(name)).
  returned: when O(state=absent)
  type: dict
  contains:
    name:
      description: The clone.
      type: str
      sample: shop-clone-3
    alias:
      description: The name it was claimed under.
      type: str
      sample: acme
    clone_id:
      description: Its id in the reserve.
      type: int
      sample: 3
    reused:
      description: Whether it went back to the reserve (else it was deleted).
      type: bool
      sample: false
    state:
      description: Its state when the release began (V(returning) or V(deleting)).
      type: str
      sample: deleting
check_mode:
  description: Whether this was a check-mode plan.
  returned: in check mode
  type: bool
  sample: true
error_kind:
  description: Class of the engine error when the task failed on one (V(ReserveEmpty) when the reserve was empty and O(fallback=false)).
  returned: on failure caused by the engine refusing the request
  type: str
  sample: ReserveEmpty
error_location:
  description: Where a bad input is, when the task failed on one.
  returned: on failure caused by bad input
  type: dict
  contains:
    file:
      description: V(<input>).
      type: str
    line:
      description: Always 0 (a task option has no line).
      type: int
    column:
      description: Always 0.
      type: int
    key:
      description: The offending option.
      type: str
      sample: name
hint:
  description: How to fix a bad input.
  returned: on failure caused by bad input, when there is a hint
  type: str
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule, never_fails
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reserves import claim_task


def main():
    argument_spec = dict(
        reserve=dict(type="str", required=True),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        fallback=dict(type="bool", default=True),
        provider_options=dict(type="dict", no_log=True),
        timeout=dict(type="float"),
    )
    module = AppGraphModule(argument_spec)
    p = module.params
    module.run(lambda store: claim_task(store, p, module.check_mode), outcome=never_fails)


if __name__ == "__main__":
    main()
