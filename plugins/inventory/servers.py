# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: servers
short_description: The live servers of appgraph providers, with the applications they carry
version_added: 0.1.0
description:
  - One host per server that the configured providers list now (the C(local) provider by default).
  - A server that carries a root instance of an application in the store gets that application's
    details as host variables and groups; servers of no application (spare servers of a pool) are
    hosts too, with their provider, status and pool.
  - Groups are C(app_<application>), C(component_<component>) (the root's component and every
    component of the instances it carries), C(pool_<server type>) and C(status_<status>), sanitised to
    letters, digits and underscores.
  - The inventory file name must end in C(servers.yml) or C(servers.yaml).
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  plugin:
    description: The name of this plugin; makes the file an appgraph servers inventory.
    type: str
    required: true
    choices: [appgraph.lifecycle.servers]
  providers:
    description:
      - The providers to list servers from, each with its options (as the C(server_pool) module takes them).
    type: list
    elements: dict
    default: [{name: local}]
    suboptions:
      name:
        description: Provider name (V(local), V(ec2), or one installed as a plugin).
        type: str
        required: true
      options:
        description: The provider's options, for example C(root) for V(local).
        type: dict
        default: {}
  all_fleets:
    description:
      - List the servers of every fleet the providers have, not only those of this store's fleet.
      - Every store has a fleet identity, made with it; what it makes carries it, and two stores on one
        machine or one cloud account never see, adopt or delete each other's servers.
    type: bool
    default: false
extends_documentation_fragment:
  - appgraph.lifecycle.store.plugins
  - constructed
  - inventory_cache
notes:
  - Host variables are C(ansible_host) (the server's address), C(appgraph_provider), C(appgraph_provider_id),
    C(appgraph_status) (the store's status of the server - V(running), V(rebooting), V(hanging), ... - or the
    provider's word for a server the store does not know), C(appgraph_provider_state) (the provider's word),
    C(appgraph_server_type) (its pool), and, for a server carrying an application,
    C(appgraph_application), C(appgraph_component), C(appgraph_instance_path), C(appgraph_instance_state) and
    C(appgraph_exports) (instance path -> exported values, for the root and everything it contains).
  - Servers of the C(local) provider get C(ansible_connection=local).
  - The cache key includes the store and every provider's identity, so two files that differ only
    in those never share cached hosts.
"""

EXAMPLES = r"""
# file: appgraph.servers.yml
plugin: appgraph.lifecycle.servers
store: /var/lib/appgraph/appgraph.db
---
# file: cloud.servers.yml -- two providers, extra groups, cached for 5 minutes
plugin: appgraph.lifecycle.servers
providers:
  - name: local
  - name: ec2
    options:
      region: eu-west-1
keyed_groups:
  - key: appgraph_application
    prefix: application
compose:
  tomcat_port: appgraph_exports[appgraph_instance_path ~ '/tomcat']['Tomcat.portAJP'] | default(omit)
cache: true
cache_timeout: 300
"""

import json

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.inventory import InventorySource
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import AppGraphError


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):

    NAME = "appgraph.lifecycle.servers"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(("servers.yml", "servers.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            source = InventorySource(self.get_option("store"), self.get_option("providers"),
                                     all_fleets=self.get_option("all_fleets"))
            cache_key = "%s_%s" % (self.get_cache_key(path), source.cache_key())
            use_cache = self.get_option("cache")
            hosts = None
            if use_cache and cache:
                cached = self._cache.get(cache_key)
                # Kept as one JSON string: Ansible's cache decodes nested data object by object
                # (0.4 s for 300 hosts); the standard decoder reads the string in milliseconds.
                hosts = json.loads(cached) if isinstance(cached, str) else None
            if hosts is None:
                hosts = source.hosts()
                if use_cache:
                    self._cache[cache_key] = json.dumps(hosts)
        except AppGraphError as exc:
            raise AnsibleParserError("appgraph servers inventory %s: %s" % (path, exc)) from exc
        self._populate(hosts)

    def _populate(self, hosts):
        strict = self.get_option("strict")
        compose, groups, keyed = self.get_option("compose"), self.get_option("groups"), self.get_option("keyed_groups")
        made = {}
        for host in hosts:
            name = host["name"]
            self.inventory.add_host(name)
            for group in host["groups"]:
                if group not in made:
                    made[group] = self.inventory.add_group(group)
                self.inventory.add_child(made[group], name)
            for key, value in host["vars"].items():
                if value is not None:
                    self.inventory.set_variable(name, key, value)
            # Constructed options cost a templar pass per host: only when the file asks for them.
            if compose:
                self._set_composite_vars(compose, host["vars"], name, strict=strict)
            if groups:
                self._add_host_to_composed_groups(groups, host["vars"], name, strict=strict)
            if keyed:
                self._add_host_to_keyed_groups(keyed, host["vars"], name, strict=strict)
