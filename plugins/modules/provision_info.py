#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: provision_info
short_description: The provisioned instances (or one of them), their parts and snapshots
version_added: 0.1.0
description:
  - Reads the store and returns each instance M(appgraph.lifecycle.provision) made - owner, provisioner,
    offerings, state, resource URI, what each sub-provisioner made - and the snapshots exported.
  - Changes nothing.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  instance_id:
    description: One instance. When not set, every one.
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
  - module: appgraph.lifecycle.provision
"""

EXAMPLES = r"""
- name: The instance shop1
  appgraph.lifecycle.provision_info:
    instance_id: shop1
  register: shop1
  delegate_to: localhost

- name: Its state
  ansible.builtin.debug:
    msg: "{{ shop1.provisions[0].state }}"
"""

RETURN = r"""
provisions:
  description: One entry per instance, by instance id.
  returned: always
  type: list
  elements: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
      sample: shop1
    owner:
      description: Its owner.
      type: str
    provisioner:
      description: Its provisioner.
      type: str
    guest_location:
      description: Its guest location.
      type: str
    offerings:
      description: Its offerings.
      type: dict
    operation:
      description: V(provision) or V(import).
      type: str
    state:
      description: Its state (see M(appgraph.lifecycle.provision)).
      type: str
      sample: provisioned
    resource_uri:
      description: Where the console reaches it.
      type: str
    error:
      description: Why its last service failed.
      type: str
    parts:
      description: What each sub-provisioner made, by role.
      type: dict
    export:
      description:
        - The files of an export that runs, or that died and whose files are still there (C(staging), C(partial),
          C(path), C(snapshot_id), C(owner); see M(appgraph.lifecycle.provision)).
      type: dict
      returned: when such an export exists
    updated_at:
      description: When its row last changed (epoch seconds).
      type: float
snapshots:
  description: The snapshots exported (not yet pruned), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: The snapshot's id.
      type: str
    instance_id:
      description: The instance it is of.
      type: str
    path:
      description: The archive.
      type: str
    size:
      description: Its size in bytes.
      type: int
    sha256:
      description: Its sha256.
      type: str
    created_at:
      description: When it was made (epoch seconds).
      type: float
    expires_at:
      description: When reconcile prunes it (none - kept).
      type: float
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule, never_fails
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.provisioning import provision_status


def main():
    module = AppGraphModule(dict(instance_id=dict(type="str")))
    module.run(lambda store: provision_status(store.dsn, module.params["instance_id"]), outcome=never_fails)


if __name__ == "__main__":
    main()
