#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: server_pool
short_description: Keep a pool of servers of one type at a size, grow, shrink, reboot or remove it
version_added: 0.1.0
description:
  - A pool is a named server type, a provider and its options. Its servers are named
    C(<name>-<n>) from a counter kept in the store; a number is never given out twice.
  - O(count) starts or stops servers until the pool has that many provisioned ones (V(new),
    V(starting), V(running) or V(rebooting)). Servers an earlier run left V(errored) or V(hanging) are
    made again first when servers are missing, and removed when they are not needed.
    When servers must go, the oldest running ones go first.
  - O(increase) adds servers; O(decrease) stops and deletes the oldest running servers (asking for
    more than there are is not an error).
  - Every server goes through its full status flow (V(new), V(starting), V(running); V(stopping),
    V(stopped), V(deleting), V(deleted)), each step recorded as an event in the store; many servers
    are worked on at once (O(parallelism)).
  - In check mode nothing is written and no provider is called; the return values say what would
    be started and stopped, and RV(counts) what the pool would then hold.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  name:
    description:
      - Name of the pool (the server type), 1 to 64 letters, digits, V(.), V(_) or V(-), starting with a
        letter or a digit.
    type: str
    required: true
  provider:
    description:
      - Where new servers are made, V(local) (a sandbox directory with an agent process on 127.0.0.1)
        or V(ec2), or a provider installed as an C(appgraph.providers) entry point.
      - When not set, V(local) for new servers. Stopping, deleting and rebooting always use the provider
        each server was made at; give O(provider) then too when O(provider_options) hold credentials.
      - A pool's servers are all at one provider account; to move a pool, remove it first (O(state=absent)).
    type: str
  provider_options:
    description:
      - Options of the provider, for example C(root) for V(local), or C(region), C(image_id),
        C(instance_type) for V(ec2).
      - Credentials (for V(ec2) C(aws_access_key_id), C(aws_secret_access_key) and C(aws_session_token);
        for any provider, options whose names say they are secrets, tokens or passwords) are never
        written to the store, and masked in the task's output. Calls that find no credentials in their
        options use the provider's default chain (for V(ec2) the environment, then the AWS profile).
      - Changed options apply to servers made from then on; servers keep the options they were made with.
    type: dict
  count:
    description: How many provisioned servers the pool must have. Mutually exclusive with O(increase) and O(decrease).
    type: int
  increase:
    description: How many servers to add.
    type: int
  decrease:
    description: How many of the oldest running servers to stop and delete.
    type: int
  state:
    description:
      - V(present) applies O(count), O(increase) or O(decrease) (one of them is required).
      - V(rebooted) reboots every running server; servers still starting or rebooting are rebooted
        once they are up. Not idempotent, like any reboot.
      - V(absent) stops and deletes every server of the pool, errored and hanging ones too.
    type: str
    choices: [present, rebooted, absent]
    default: present
  max_servers:
    description:
      - At most this many servers at the provider account, counting every server of the store at that
        account that is not deleted (of every pool, and of applications). Checked atomically, so two
        runs racing for the last slot never both get it.
      - Servers beyond the limit are not made; a C(limit_hit) event is written and RV(limit_hit) says
        how many were asked and made.
    type: int
  fail_on_limit:
    description:
      - Fail the task when O(max_servers) kept servers from being made (the servers within the limit
        are still started). When V(false) the task reports RV(limit_hit) and succeeds.
    type: bool
    default: false
extends_documentation_fragment:
  - appgraph.lifecycle.store
  - appgraph.lifecycle.run.servers
attributes:
  check_mode:
    description: Returns what would be started and stopped, and the counts the pool would have, without writing or calling a provider.
    support: full
  diff_mode:
    description: Shows how many servers the pool has in each status, before and after.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
notes:
  - A server whose provider fails becomes V(errored) with the error's class and message; the other
    servers carry on, and the task fails listing the errored ones in RV(failed_servers).
  - Running the task again changes nothing once the pool has O(count) running servers; that check is
    one store query and calls no provider.
seealso:
  - module: appgraph.lifecycle.server_pool_info
  - module: appgraph.lifecycle.reconcile
"""

EXAMPLES = r"""
- name: Three web servers on this machine
  appgraph.lifecycle.server_pool:
    name: web
    count: 3
  delegate_to: localhost

- name: Five workers in EC2, never more than 20 servers in the account
  appgraph.lifecycle.server_pool:
    name: worker
    provider: ec2
    provider_options:
      region: eu-west-1
      image_id: ami-0123456789abcdef0
      instance_type: t3.small
      aws_access_key_id: "{{ vault_aws_access_key_id }}"
      aws_secret_access_key: "{{ vault_aws_secret_access_key }}"
    count: 5
    max_servers: 20
    fail_on_limit: true
  delegate_to: localhost

- name: Two fewer workers (the oldest running ones)
  appgraph.lifecycle.server_pool:
    name: worker
    provider: ec2
    decrease: 2
  delegate_to: localhost

- name: Reboot the web servers
  appgraph.lifecycle.server_pool:
    name: web
    state: rebooted
  delegate_to: localhost

- name: What would a pool of 10 mean?
  appgraph.lifecycle.server_pool:
    name: web
    count: 10
  check_mode: true
  register: plan
  delegate_to: localhost

- name: No more web servers
  appgraph.lifecycle.server_pool:
    name: web
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
server_type:
  description: Name of the pool.
  returned: always
  type: str
  sample: web
operation:
  description: What the task did, V(ensure), V(increase), V(decrease), V(reboot) or V(absent).
  returned: always
  type: str
  sample: ensure
servers:
  description: The servers of the pool after the task (not the deleted ones), oldest first.
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
      description: The provider's id of the server (an EC2 instance id, a local sandbox name).
      type: str
      sample: i-0123456789abcdef0
    server_type:
      description: The pool.
      type: str
      sample: web
    error:
      description: The provider's error (class and message) when the server is V(errored) or V(hanging).
      type: str
      sample: "ClientError: InsufficientInstanceCapacity"
counts:
  description: How many servers of the pool are in each status after the task (in check mode, would be).
  returned: always
  type: dict
  sample: {"running": 3}
counts_before:
  description: How many servers of the pool were in each status before the task.
  returned: always
  type: dict
  sample: {"running": 2, "errored": 1}
started:
  description: New servers made by the task (in check mode, the names they would get).
  returned: always
  type: list
  elements: str
  sample: [web-4, web-5]
resumed:
  description: Errored or hanging servers made again (with the same idempotency token).
  returned: always
  type: list
  elements: str
  sample: [web-2]
waited:
  description: Servers that were still starting or rebooting and were waited for.
  returned: always
  type: list
  elements: str
  sample: []
stopped:
  description: Servers stopped and deleted (or, without O(wait), asked to stop).
  returned: always
  type: list
  elements: str
  sample: [web-1]
rebooted:
  description: Servers rebooted, or marked to reboot once they are up.
  returned: always
  type: list
  elements: str
  sample: []
failed_servers:
  description:
    - Servers whose provider failed; they are V(errored) (or V(hanging)) now.
    - Called C(failed) in earlier versions, a key Ansible reserves (the list was lost when the task failed).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the server.
      type: str
      sample: web-2
    status:
      description: Its status now.
      type: str
      sample: errored
    error:
      description: What failed, with the provider's error class and message.
      type: str
      sample: "server 'web-2': create_server failed at provider ec2: Ec2ApiError: ..."
pending:
  description: Servers that did not reach their status (without O(wait), or within O(timeout)).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the server.
      type: str
      sample: web-4
    status:
      description: Its status now.
      type: str
      sample: starting
    reason:
      description: Why the task stopped waiting for it.
      type: str
      sample: "server 'web-4' is still starting: it did not get running in time"
limit_hit:
  description: Set when O(max_servers) kept servers from being made.
  returned: always
  type: dict
  sample: {"limit": 20, "live": 19, "asked": 3, "allowed": 1, "provider_identity": "ec2:123456789012:eu-west-1"}
  contains:
    limit:
      description: O(max_servers).
      type: int
    live:
      description: Servers of the account that were not deleted.
      type: int
    asked:
      description: New servers wanted.
      type: int
    allowed:
      description: New servers made.
      type: int
    provider_identity:
      description: The provider account.
      type: str
check_mode:
  description: Whether this was a check-mode plan.
  returned: always
  type: bool
  sample: false
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
      description: File (V(<input>) for a task option).
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
      description: The offending option.
      type: str
      sample: count
hint:
  description: How to fix a bad input.
  returned: on failure caused by bad input, when there is a hint
  type: str
  sample: "count: N keeps N servers; increase/decrease: N more or fewer"
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import (
    AppGraphModule, pool_failure, run_argument_spec)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.pools import pool_task


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        provider=dict(type="str"),
        provider_options=dict(type="dict", no_log=True),
        count=dict(type="int"),
        increase=dict(type="int"),
        decrease=dict(type="int"),
        state=dict(type="str", default="present", choices=["present", "rebooted", "absent"]),
        max_servers=dict(type="int"),
        fail_on_limit=dict(type="bool", default=False),
        **run_argument_spec(parallelism=20),
    )
    module = AppGraphModule(argument_spec, mutually_exclusive=[("count", "increase", "decrease")])
    p = module.params
    module.mask_only_secrets({p["provider"] or "local": p["provider_options"]})
    module.run(lambda store: pool_task(store.dsn, p, module.check_mode),
               outcome=pool_failure(p["fail_on_limit"], p["wait"]))


if __name__ == "__main__":
    main()
