#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: reserve
short_description: Keep a warm reserve of ready clones of a template, refilled inside a time window
version_added: 0.1.0
description:
  - A reserve keeps ready clones of a template, so that a new site is handed out in milliseconds
    (M(appgraph.lifecycle.reserve_claim)) instead of being built. This is Aegir's C(hosting_reserve),
    with what EC2 Auto Scaling warm pools add (a minimum size, stopped clones, reuse on release).
  - The template is a server type (O(provider), O(provider_options)) and, optionally, an application
    (O(src)) deployed and started on every clone, so that a clone is a ready site, not a bare machine.
    The template application has exactly one root instance, a server (C(installer=server)); the
    reserve makes that server, at its own provider with its own options.
  - Each clone is a server named C(<clone_prefix><id>) with, when O(src) is set, an application of its
    own named like the clone. When a clone is claimed, its application is later renamed to the
    permanent name it was claimed under (the migration); from then on it is an ordinary application.
  - Every run sets the reserve and makes one housekeeping pass over it, which M(appgraph.lifecycle.reconcile)
    also makes on a schedule. Claimed clones are migrated to their permanent name, clones left half-made
    or half-deleted by a run that died are finished, and, inside O(refill_window), clones older than
    O(clone_lifetime) or built from an older template are deleted and the reserve is refilled up to
    O(full_size). At any time, the reserve is refilled up to O(minimum_size) (the emergency reserve).
  - Only clones being built or ready, of the current template, count; a clone being deleted never does.
    Clones are built O(refill_concurrency) at a time, and the task waits for them.
  - In check mode nothing is written and no provider is called; the return values say what would be
    built, deleted and migrated.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  name:
    description:
      - Name of the reserve, 1 to 64 letters, digits, V(.), V(_) or V(-), starting with a letter or a digit.
    type: str
    required: true
  state:
    description:
      - V(present) sets the reserve and makes one housekeeping pass over it.
      - V(absent) removes it. Its clones that were not claimed are deleted; the claimed ones stay (they
        are migrated to their permanent name) and can still be released with M(appgraph.lifecycle.reserve_claim).
    type: str
    choices: [present, absent]
    default: present
  provider:
    description:
      - Where the clones' servers are made, V(local) (a sandbox directory with an agent process on
        127.0.0.1) or V(ec2), or a provider installed as an C(appgraph.providers) entry point.
      - When not set, V(local).
    type: str
  provider_options:
    description:
      - Options of the provider, for example C(root) for V(local), or C(region), C(image_id),
        C(instance_type) for V(ec2).
      - Credentials (options whose names say they are secrets, tokens, passwords or keys) are never
        written to the store and are masked in the task's output.
    type: dict
  src:
    description:
      - The template application, an C(*.app.yml) file or a Roboconf application directory, deployed
        and started on every clone. When not set, the clones are bare servers.
      - The template is what this task says; a changed template (its document, its recipes, the
        provider or its options) retires the clones built from the old one inside the window.
    type: path
  full_size:
    description: How many clones the reserve holds once refilled inside the window (0 to 10000).
    type: int
    default: 10
  minimum_size:
    description:
      - Below this many ready clones the reserve is refilled at once, outside the window too (a
        C(reserve_low) event is written). At most O(full_size).
    type: int
    default: 1
  refill_window:
    description:
      - When the reserve is refilled to O(full_size) and stale clones are deleted, as C(HH:MM-HH:MM) in
        24-hour time in O(timezone). It may wrap midnight (V(22:00-04:00)); V(00:00-24:00), or a start
        equal to the end, is the whole day; an empty string means always.
    type: str
    default: "00:00-04:00"
  timezone:
    description: The IANA time zone of O(refill_window), for example V(Europe/Paris).
    type: str
    default: UTC
  clone_lifetime:
    description:
      - How long a clone may wait in the reserve before it is deleted (inside the window), in seconds
        or with a unit, V(23h), V(90m), V(1.5d). V(0) means never. 23 hours by default, so that a
        clone made in one night's window is replaced in the next.
    type: raw
    default: 23h
  clone_prefix:
    description: Clones are named C(<clone_prefix><id>). When not set, C(<name>-clone-).
    type: str
  next_clone_id:
    description:
      - The lowest id the next clone may get; the reserve's counter never goes back, so a lower value
        changes nothing. Names that exist already (in the store, or at the provider, made by hand) are
        skipped.
    type: int
    default: 1
  pool_state:
    description:
      - V(running) - clones wait with their application started, a claim is a store transaction.
      - V(stopped) - clones wait with their application deployed but stopped, and are started when
        claimed (the claim then takes the start's time). The servers themselves stay up.
    type: str
    choices: [running, stopped]
    default: running
  reuse_on_release:
    description:
      - A released clone goes back to the reserve (renamed back, its alias cleared) instead of being
        deleted, when it was built from the current template and the reserve is not full.
    type: bool
    default: false
  refill_concurrency:
    description: How many clones are built (or deleted) at the same time (1 to 100).
    type: int
    default: 10
  timeout:
    description:
      - Seconds a clone's server may take to get there. When not set, until the server would be
        hanging (10 minutes in the same status); each operation of a clone's application has its
        own limit too.
    type: float
extends_documentation_fragment:
  - appgraph.lifecycle.store
attributes:
  check_mode:
    description: Returns what would be built, deleted and migrated, without writing or calling a provider.
    support: full
  diff_mode:
    description: Shows the reserve's settings and how many clones it has in each state, before and after.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
notes:
  - A clone whose build fails is deleted again and listed in RV(failed), and the task fails; the other
    clones are built. The next run makes another.
  - Running the task again changes nothing once the reserve is full (or, outside the window, at its minimum).
seealso:
  - module: appgraph.lifecycle.reserve_claim
  - module: appgraph.lifecycle.reserve_info
  - module: appgraph.lifecycle.reconcile
"""

EXAMPLES = r"""
- name: Ten ready copies of the shop, refilled between 22:00 and 04:00 Paris time
  appgraph.lifecycle.reserve:
    name: shop
    src: examples/reserve/site.app.yml
    full_size: 10
    minimum_size: 2
    refill_window: "22:00-04:00"
    timezone: Europe/Paris
    clone_lifetime: 23h
  delegate_to: localhost

- name: Stopped EC2 clones, started when claimed, returned when released
  appgraph.lifecycle.reserve:
    name: workers
    provider: ec2
    provider_options:
      region: eu-west-1
      image_id: ami-0123456789abcdef0
      aws_access_key_id: "{{ vault_aws_access_key_id }}"
      aws_secret_access_key: "{{ vault_aws_secret_access_key }}"
    full_size: 4
    pool_state: stopped
    reuse_on_release: true
    refill_window: ""
  delegate_to: localhost

- name: What would tonight's pass do?
  appgraph.lifecycle.reserve:
    name: shop
    src: examples/reserve/site.app.yml
  check_mode: true
  register: plan
  delegate_to: localhost

- name: No more reserve (claimed sites stay)
  appgraph.lifecycle.reserve:
    name: shop
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
reserve:
  description: Name of the reserve.
  returned: always
  type: str
  sample: shop
present:
  description: Whether the reserve exists after the task.
  returned: always
  type: bool
  sample: true
settings:
  description: The reserve's settings (C(clone_lifetime) in seconds), its provider, template and template digest.
  returned: always
  type: dict
  sample: {"full_size": 10, "minimum_size": 2, "refill_window": "22:00-04:00", "timezone": "Europe/Paris",
           "clone_lifetime": 82800.0, "clone_prefix": "shop-clone-", "next_clone_id": 1, "pool_state": "running",
           "reuse_on_release": false, "refill_concurrency": 10, "provider": "local",
           "src": "/srv/examples/reserve/site.app.yml", "template_digest": "sha256:5f0c..."}
clones:
  description: The reserve's clones after the task (in check mode, as they are), oldest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The clone's name, also the name of its server.
      type: str
      sample: shop-clone-3
    clone_id:
      description: Its id (none for a clone made by a fallback create).
      type: int
      sample: 3
    state:
      description: V(building), V(ready), V(claimed), V(migrated), V(returning) or V(deleting).
      type: str
      sample: ready
    alias:
      description: The permanent name it was claimed under.
      type: str
      sample: acme
    application:
      description: Its application's name now (the clone's name, the alias once migrated).
      type: str
      sample: shop-clone-3
    address:
      description: Its server's address.
      type: str
      sample: 127.0.0.1
    server_status:
      description: Its server's status.
      type: str
      sample: running
    current:
      description: Whether it was built from the current template.
      type: bool
      sample: true
    fallback:
      description: Whether it was made by a claim that found the reserve empty.
      type: bool
      sample: false
    reason:
      description: Why it is being deleted (V(lifetime), V(template), V(surplus), V(released), V(failed), V(absent)).
      type: str
      sample: lifetime
    error:
      description: The last error of its build or deletion.
      type: str
    created_at:
      description: When it was made (epoch seconds).
      type: float
    ready_at:
      description: When it entered the reserve (epoch seconds); its lifetime counts from then.
      type: float
    claimed_at:
      description: When it was claimed.
      type: float
    migrated_at:
      description: When it was migrated.
      type: float
counts:
  description: How many clones are in each state after the task (in check mode, would be).
  returned: always
  type: dict
  sample: {"ready": 9, "migrated": 1}
available:
  description: Ready clones of the current template (what a claim can take).
  returned: always
  type: int
  sample: 9
hits:
  description: Claims served from the reserve, since it was made.
  returned: always
  type: int
  sample: 41
misses:
  description: Claims that found the reserve empty.
  returned: always
  type: int
  sample: 2
hit_rate:
  description: Hits over all claims (none before the first claim).
  returned: always
  type: float
  sample: 0.9535
window_open:
  description: Whether the refill window is open now.
  returned: always
  type: bool
  sample: false
target:
  description: How many clones the pass filled the reserve up to (O(full_size) inside the window, else O(minimum_size)).
  returned: always
  type: int
  sample: 2
low:
  description: Whether fewer ready clones than O(minimum_size) were there when the pass decided.
  returned: always
  type: bool
  sample: false
built:
  description: Clones made by the pass (in check mode, the names they would get).
  returned: always
  type: list
  elements: str
  sample: [shop-clone-11, shop-clone-12]
resumed:
  description: Clones a run that died had left half-built, built now.
  returned: always
  type: list
  elements: str
  sample: []
expired:
  description: Clones deleted because they were too old, stale, beyond O(full_size), or the reserve is removed.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "shop-clone-1", "reason": "lifetime"}]
  contains:
    name:
      description: The clone.
      type: str
    reason:
      description: V(lifetime), V(template), V(surplus) or V(absent).
      type: str
deleted:
  description: Clones deleted by the pass (the expired ones and those a run that died left half-deleted).
  returned: always
  type: list
  elements: str
  sample: [shop-clone-1]
returned:
  description: Released clones put back in the reserve by the pass (a release that did not finish).
  returned: always
  type: list
  elements: str
  sample: []
migrated:
  description: Claimed clones whose application took their permanent name.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "shop-clone-4", "alias": "acme"}]
  contains:
    name:
      description: The clone.
      type: str
    alias:
      description: Its permanent name.
      type: str
failed:
  description: Clones that could not be built (deleted again) or deleted (kept for the next pass).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "shop-clone-12", "error": "InstallerError: ..."}]
  contains:
    name:
      description: The clone.
      type: str
    error:
      description: What failed.
      type: str
pending:
  description: Clones another process was working on; a later pass finishes them.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The clone.
      type: str
    error:
      description: Why the pass left it.
      type: str
check_mode:
  description: Whether this was a check-mode plan.
  returned: always
  type: bool
  sample: false
name:
  description: Name of the reserve (as RV(reserve)).
  returned: always
  type: str
  sample: shop
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
      description: File (the template application's, or V(<input>) for a task option).
      type: str
    line:
      description: Line, 1-based (0 when unknown).
      type: int
    column:
      description: Column, 1-based (0 when unknown).
      type: int
    key:
      description: The offending option.
      type: str
      sample: refill_window
hint:
  description: How to fix a bad input.
  returned: on failure caused by bad input, when there is a hint
  type: str
  sample: "HH:MM-HH:MM in 24-hour time, e.g. 00:00-04:00 or 22:00-04:00 (wraps midnight); '' means always"
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule, reserve_failure
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.reserves import reserve_task
from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.settings import DEFAULTS


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        provider=dict(type="str"),
        provider_options=dict(type="dict", no_log=True),
        src=dict(type="path"),
        full_size=dict(type="int", default=DEFAULTS["full_size"]),
        minimum_size=dict(type="int", default=DEFAULTS["minimum_size"]),
        refill_window=dict(type="str", default=DEFAULTS["refill_window"]),
        timezone=dict(type="str", default=DEFAULTS["timezone"]),
        clone_lifetime=dict(type="raw", default=DEFAULTS["clone_lifetime"]),
        clone_prefix=dict(type="str"),
        next_clone_id=dict(type="int", default=DEFAULTS["next_clone_id"]),
        pool_state=dict(type="str", default=DEFAULTS["pool_state"], choices=["running", "stopped"]),
        reuse_on_release=dict(type="bool", default=DEFAULTS["reuse_on_release"]),
        refill_concurrency=dict(type="int", default=DEFAULTS["refill_concurrency"]),
        timeout=dict(type="float"),
    )
    module = AppGraphModule(argument_spec)
    p = module.params
    module.mask_only_secrets({p["provider"] or "local": p["provider_options"]})
    module.run(lambda store: reserve_task(store.dsn, p, module.check_mode), outcome=reserve_failure)


if __name__ == "__main__":
    main()
