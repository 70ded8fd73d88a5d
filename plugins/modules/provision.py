#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: provision
short_description: Provision, deprovision, export or import a tenant instance (DreamFactory Enterprise's provisioners)
version_added: 0.1.0
description:
  - A provisioner (named in the O(provisioners) file) is a set of sub-provisioners by role - C(instance) (a
    server from a warm reserve, a pool or a cold create), C(storage) (the tenant's folder tree on its server)
    and C(database) (a SQLite file, or a PostgreSQL database and role, per tenant) - as DFE's
    C(config/provisioners.php) had them. Other sub-provisioners come from Python packages through the entry
    point group C(appgraph.provisioners).
  - O(state=provisioned) makes every part in the order instance, storage, database (DFE's C(dfe:provision
    <owner-id> <instance-id> [<guest-location>])); a part that fails rolls back every part made, in reverse
    order, each exactly once, and the task fails saying what could not be undone (RV(not_undone)).
  - O(state=deprovisioned) undoes every part in reverse order (C(dfe:deprovision)); O(keep_database) keeps the
    database.
  - O(state=exported) writes a snapshot (C(dfe:export)) - one archive holding C(manifest.json) (format version,
    ids, owner, guest location, provisioner, offerings, time, and the sha256 and size of every part), the
    storage tree and the database dump.
  - O(state=imported) provisions the instance anew from a snapshot (C(dfe:import)) after checking every byte of
    it; a hostile or damaged archive is refused with a clear error and nothing is made.
  - Each service is idempotent by O(instance_id) and fires an event per service and per sub-service in the
    store's outbox (C(provisioned), C(database.provisioned), C(storage.exported), ...), each carrying the request.
  - The state is written before every slow step. A run that dies is rolled back (a provision) or finished (a
    deprovision) by the next task on that instance id, or by M(appgraph.lifecycle.reconcile).
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  provisioners:
    description:
      - The provisioners file (C(schemas/provisioners.schema.json)). Needed to provision, export and import;
        a deprovision uses the file the instance was provisioned with when it is not given.
    type: path
  provisioner:
    description: The provisioner to use; when not set, the file's C(default) (for an import, the snapshot's).
    type: str
  owner:
    description: The owner of the instance (DFE's owner id); needed to provision and to import.
    type: str
  instance_id:
    description: The instance id, unique in the store; it names the tenant's server, folder and database.
    type: str
    required: true
  guest_location:
    description: Where the instance goes (the instance sub-provisioner's C(locations)); recorded with the instance.
    type: str
  offerings:
    description:
      - The offerings chosen (name to value), each checked against the provisioner's C(offerings); those not
        given take their default.
    type: dict
  state:
    description: The service to run.
    type: str
    choices: [provisioned, deprovisioned, exported, imported]
    default: provisioned
  keep_database:
    description: With O(state=deprovisioned), keep the tenant's database.
    type: bool
    default: false
  destination:
    description:
      - With O(state=exported), a folder (the snapshot is named C(<instance_id>-<time>-<nonce>.tar.gz)) or a file
        name ending C(.tar), C(.tar.gz) or C(.tar.zst) (zstd needs the Python package C(zstandard)). When not set,
        the provisioners file's C(snapshots.directory).
    type: path
  snapshot:
    description: With O(state=imported), the snapshot file to import.
    type: path
  timeout:
    description: Seconds the instance's server may take to be made.
    type: float
extends_documentation_fragment:
  - appgraph.lifecycle.store
attributes:
  check_mode:
    description: Returns the plan (RV(plan)) without making anything; an import checks the snapshot in a staging folder it removes.
    support: full
  diff_mode:
    description: Shows the instance's state before and after.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
notes:
  - A PostgreSQL tenant's generated password is written only to the tenant's private storage
    (C(private/.database.json), mode C(0600)); the task returns it masked (RV(database_password)), and it is
    never in the store, an event or a log.
seealso:
  - module: appgraph.lifecycle.provision_info
  - module: appgraph.lifecycle.reserve
"""

EXAMPLES = r"""
- name: A DreamFactory instance for the owner acme (dfe:provision acme shop1)
  appgraph.lifecycle.provision:
    provisioners: /etc/appgraph/provisioners.yml
    owner: acme
    instance_id: shop1
    offerings: {version: "2.1"}
  register: shop1
  delegate_to: localhost

- name: Where the console reaches it
  ansible.builtin.debug:
    msg: "{{ shop1.provision.resource_uri }}"

- name: A snapshot (dfe:export shop1 --destination=/var/backups/dfe)
  appgraph.lifecycle.provision:
    provisioners: /etc/appgraph/provisioners.yml
    instance_id: shop1
    state: exported
    destination: /var/backups/dfe
  register: snapshot
  delegate_to: localhost

- name: Gone, but keep its database (dfe:deprovision shop1)
  appgraph.lifecycle.provision:
    instance_id: shop1
    state: deprovisioned
    keep_database: true
  delegate_to: localhost

- name: Back from the snapshot (dfe:import acme shop1 <snapshot>)
  appgraph.lifecycle.provision:
    provisioners: /etc/appgraph/provisioners.yml
    owner: acme
    instance_id: shop1
    snapshot: "{{ snapshot.snapshot.path }}"
    state: imported
  delegate_to: localhost
"""

RETURN = r"""
service:
  description: The service that ran (V(provision), V(deprovision), V(export) or V(import)).
  returned: always
  type: str
  sample: provision
provision:
  description: The instance as the store has it after the task (in check mode, as it is now).
  returned: always
  type: dict
  contains:
    instance_id:
      description: The instance id.
      type: str
      sample: shop1
    owner:
      description: Its owner.
      type: str
      sample: acme
    provisioner:
      description: The provisioner that made it.
      type: str
      sample: dreamfactory
    state:
      description:
        - V(created), V(provisioning), V(provisioned), V(deprovisioning), V(deprovisioned),
          V(provisioning_error) or V(deprovisioning_error).
      type: str
      sample: provisioned
    resource_uri:
      description: Where the console reaches it (the provisioner's C(resource_uri), filled in).
      type: str
      sample: http://127.0.0.1/shop1/
    guest_location:
      description: Its guest location.
      type: str
    offerings:
      description: The offerings chosen (defaults filled in).
      type: dict
      sample: {"version": "2.1"}
    operation:
      description: What made it, V(provision) or V(import).
      type: str
    error:
      description: Why its last service failed (none when it did not).
      type: str
    parts:
      description:
        - What each sub-provisioner made, by role, with its C(status) (V(made), V(removed), V(kept), V(undone),
          V(undo_failed)), such as the server and its address, the storage's path, the database's file or name.
      type: dict
      sample: {"instance": {"source": "create", "server": "tenant-shop1", "address": "127.0.0.1", "status": "made"},
               "storage": {"name": "tree", "path": "/srv/tenants/shop1", "status": "made"},
               "database": {"name": "sqlite", "path": "/srv/db/shop1.sqlite", "status": "made"}}
    export:
      description:
        - While an export runs, or after one died before the next task on the instance removed what it left
          (or could not, then with C(stuck) and the errors), the files it makes, by name - C(staging) (a folder
          next to the archive), C(partial) (the archive until it is complete), C(path) (the archive) - with its
          C(snapshot_id) and its lease C(owner).
      type: dict
      returned: when such an export exists
snapshot:
  description: The snapshot written.
  returned: when O(state=exported)
  type: dict
  contains:
    path:
      description: The archive.
      type: str
    id:
      description: Its id (also in its manifest).
      type: str
    size:
      description: Its size in bytes.
      type: int
    sha256:
      description: Its sha256.
      type: str
    manifest:
      description: Its C(manifest.json).
      type: dict
manifest:
  description: The imported snapshot's C(manifest.json).
  returned: when O(state=imported)
  type: dict
events:
  description: The kinds of the events this task appended to the outbox, in order.
  returned: always
  type: list
  elements: str
  sample: ["instance.provisioned", "storage.provisioned", "database.provisioned", "provisioned"]
plan:
  description: What the service would do, part by part.
  returned: in check mode
  type: list
  elements: str
not_undone:
  description: The parts a failed provision's rollback could not undo, with the C(error) (they stay for the next try).
  returned: when a provision failed
  type: list
  elements: dict
database_password:
  description: The generated password of a new PostgreSQL tenant, masked by Ansible (its value is in the tenant's private storage).
  returned: when a PostgreSQL database was made
  type: str
error_kind:
  description: Class of the engine error when the task failed on one (V(SnapshotRefused) for a refused archive).
  returned: on failure caused by the engine refusing the request
  type: str
  sample: InputError
error_location:
  description: Where a bad input is (the provisioners file's line, or the offending option).
  returned: on failure caused by bad input
  type: dict
  contains:
    file:
      description: The file, or V(<input>) / V(<request>).
      type: str
    line:
      description: Its line (0 for a task option).
      type: int
    column:
      description: Its column.
      type: int
    key:
      description: The offending key.
      type: str
hint:
  description: How to fix a bad input.
  returned: on failure caused by bad input, when there is a hint
  type: str
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.provisioning import (
    provision_failure, provision_task)


def main():
    argument_spec = dict(
        provisioners=dict(type="path"),
        provisioner=dict(type="str"),
        owner=dict(type="str"),
        instance_id=dict(type="str", required=True),
        guest_location=dict(type="str"),
        offerings=dict(type="dict"),
        state=dict(type="str", default="provisioned", choices=["provisioned", "deprovisioned", "exported", "imported"]),
        keep_database=dict(type="bool", default=False),
        destination=dict(type="path"),
        snapshot=dict(type="path"),
        timeout=dict(type="float"),
    )
    module = AppGraphModule(argument_spec)

    def call(store):
        result = provision_task(store.dsn, module.params, module.check_mode)
        password = (result.pop("secrets", None) or {}).get("database_password")
        if password:
            module.no_log_values.add(password)      # returned masked: it lives in the tenant's private storage
            result["database_password"] = password
        return result

    module.run(call, outcome=provision_failure)


if __name__ == "__main__":
    main()
