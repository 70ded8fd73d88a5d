# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bindings between applications through real ``ansible-playbook`` runs, on servers of the
``local`` provider (real agents, stopped at the end whatever happens): a Roboconf template with an
exports-prefix, a YAML template importing from it, three applications, the chain reaction across
them, the picture, and the teardown."""

from __future__ import annotations

import os

from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ALL_FLEETS
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ansible_collections.appgraph.lifecycle.tests.helpers.roboconf import roboconf_app
from .helpers import run_playbook

DB_GRAPH = """\
VM {
    installer: target;
    children: Db;
}
Db {
    installer: script;
    exports: ip, random[port] port;
}
"""
DB_INSTANCES = "instance of VM {\n    name: db-vm;\n    instance of Db {\n        name: db;\n    }\n}\n"
WEB_APP = """\
application: web
components:
  VM:  {installer: server, children: [Web]}
  Web: {installer: script, recipes: web, imports: [external Store.ip, external Store.port]}
instances:
  - name: web-vm
    component: VM
    children: [{name: web, component: Web, data: {greeting: hello there}}]
"""
# The web's start refuses to run without the database it imports, or without its runtime data.
WEB_START = """#!/usr/bin/env bash
set -eu
[ "${Store_size:-0}" -ge 1 ] || { echo "no database to talk to" >&2; exit 3; }
[ "$APPGRAPH_INSTANCE_DATA_greeting" = "hello there" ] || { echo "no greeting" >&2; exit 4; }
echo "$Store_0_ip:$Store_0_port" > "$APPGRAPH_DATA_DIR/database"
"""


def test_two_bound_applications_on_local_servers(tmp_path, local_root, monkeypatch):
    monkeypatch.setenv("APPGRAPH_LOCAL_ROOT", local_root)      # where 'target' roots get their servers
    db_src = roboconf_app(tmp_path, DB_GRAPH, DB_INSTANCES, descriptor=[
        "name = store", "graph-entry-point = main.graph", "exports-prefix = Store",
        "exports = Db.ip as ip, Db.port as port"])
    (tmp_path / "web" / "scripts").mkdir(parents=True)
    (tmp_path / "web" / "scripts" / "start.sh").write_text(WEB_START, encoding="utf-8")
    (tmp_path / "web.app.yml").write_text(WEB_APP, encoding="utf-8")
    picture = tmp_path / "web.svg"
    try:
        run = run_playbook(tmp_path, "bindings.yml", timeout=300, db_src=db_src, web_src=str(tmp_path / "web.app.yml"),
                           picture=str(picture))
        assert run.rc == 0, run
        with Store(str(tmp_path / "store.db")) as store:
            assert store.application_names() == ["shop-db", "shop-web", "shop-web-2"]
            assert [store.application(n).template for n in store.application_names()] == ["store", "web", "web"]
            servers = dict(store.db.query("SELECT name, application FROM servers WHERE status = 'running'"))
            assert sorted(servers.values()) == ["shop-db", "shop-web", "shop-web-2"]   # a server each
            rows = store.instance_rows("shop-web")
            address = store.instance_rows("shop-db")["/db-vm/db"].exports
            applied = rows["/web-vm/web"].applied_imports["Store"]["shop-db:/db-vm/db"]
            assert applied == {"ip": address["Db.ip"], "port": address["Db.port"]}
        sandbox = next(s for s in LocalProvider(root=local_root).use_fleet(ALL_FLEETS).list_servers()
                       if s.tags.get("appgraph_application") == "shop-web")
        written = [os.path.join(d, f) for d, _s, files in os.walk(sandbox.extra["sandbox"])
                   for f in files if f == "database"]
        assert len(written) == 1 and open(written[0], encoding="utf-8").read().strip() == "%s:%s" % (
            address["Db.ip"], address["Db.port"])
        svg = picture.read_text(encoding="utf-8")
        assert 'data-path="shop-db:/db-vm/db"' in svg and "imports from a bound application" in svg
    finally:
        down = run_playbook(tmp_path, "bindings_teardown.yml", timeout=300)
    assert down.rc == 0, down
    with Store(str(tmp_path / "store.db")) as store:
        assert store.application_names() == [] and store.all_bindings() == []


WARNED_APP = """\
application: warned
components:
  Host: {installer: noop, children: [Db]}
  Db:   {installer: noop, exports: {port: 5432}}
instances:
  - {name: host, component: Host, children: [{name: db, component: Db, exports: {colour: blue}}]}
"""


def test_what_roboconf_only_warns_about_is_an_ansible_warning(tmp_path):
    (tmp_path / "warned.app.yml").write_text(WARNED_APP, encoding="utf-8")
    run = run_playbook(tmp_path, "start.yml", "-v", app_file=str(tmp_path / "warned.app.yml"))
    assert run.rc == 0, run
    assert "[WARNING]: %s:6:" % (tmp_path / "warned.app.yml") in run.stdout + run.stderr, run
    assert "'Db' does not export 'colour': the instance keeps it as a variable of its own" in run.stdout + run.stderr
