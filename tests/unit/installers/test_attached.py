# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``attached`` root: a server used, never made nor removed (its errors; where its instances'
directories are). The whole path, tenants sharing a pool's server, is in
tests/unit/provisioning/test_application_on_server.py."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InstallerError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.attached import (
    AttachedInstaller, instance_relative)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.base import OperationContext
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.application import Component


def context(tmp_path, options, root_installer="attached", path="/vm"):
    comp = Component(name="VM", installer="attached", children=frozenset(), exports={}, imports=(), options=options)
    return OperationContext(application="shop", operation="deploy", path=path, name="vm", component=comp,
                            exports={}, imports={}, root="/vm", root_installer=root_installer,
                            store_dsn=str(tmp_path / "store.db"))


@pytest.mark.parametrize("options, error", [
    ({}, "the attached root /vm .component VM. names no server: give it options: {server: <name>}"),
    ({"server": "web-1"}, "the server web-1 that /vm is attached to is unknown to the store"),
])
def test_a_root_attached_to_no_known_server_fails_its_deploy(tmp_path, options, error):
    with pytest.raises(InstallerError, match=error):
        AttachedInstaller().run(context(tmp_path, options))


def test_the_instances_of_an_attached_root_have_directories_of_their_application():
    attached = OperationContext(application="shop", operation="deploy", path="/vm/site", name="site", component=None,
                                exports={}, imports={}, root="/vm", root_installer="attached")
    owned = OperationContext(application="shop", operation="deploy", path="/vm/site", name="site", component=None,
                             exports={}, imports={}, root="/vm", root_installer="server")
    assert instance_relative(attached).startswith("applications/shop-") and "/instances/" in instance_relative(attached)
    assert instance_relative(owned).startswith("instances/")
