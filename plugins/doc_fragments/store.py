# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``store`` option shared by every appgraph module (and, as ``PLUGINS``, by plugins)."""

from __future__ import annotations


class ModuleDocFragment:

    # Modules: appgraph.lifecycle.store
    DOCUMENTATION = r"""
options:
  store:
    description:
      - Where appgraph keeps its state. A SQLite file path, or a C(postgresql://) URL for a store
        shared by several controllers (needs the Python package C(psycopg)).
      - When not set, the environment variable E(APPGRAPH_STORE) of the controller, else
        C(~/.local/state/appgraph/appgraph.db).
      - A new SQLite file is created with mode C(0600), and its folder with C(0700).
      - All tasks of a play that work on the same applications must use the same store; set it once
        with C(module_defaults) for the action group C(group/appgraph.lifecycle.appgraph).
      - A password written in a C(postgresql://) URL is masked in what the task returns; better keep it
        out of the URL, in O(store_password), or in E(APPGRAPH_STORE_PASSWORD) or libpq's E(PGPASSWORD) on
        the controller.
    type: str
  store_password:
    description:
      - The password of a C(postgresql://) store, when it is not in the environment (E(APPGRAPH_STORE_PASSWORD),
        E(PGPASSWORD)). Never shown in what the task returns.
    type: str
requirements:
  - python >= 3.11
  - networkx >= 3.2
  - jsonschema >= 4.20
  - psycopg >= 3.1 (only for a C(postgresql://) store)
notes:
  - "Runs on the controller, like cloud modules: use C(connection: local) or C(delegate_to: localhost)
    (or a play on C(localhost))."
"""

    # Plugins (inventory): appgraph.lifecycle.store.plugins
    PLUGINS = r"""
options:
  store:
    description:
      - Where appgraph keeps its state. A SQLite file path, or a C(postgresql://) URL (needs the Python
        package C(psycopg)).
      - When not set, the environment variable E(APPGRAPH_STORE), else C(~/.local/state/appgraph/appgraph.db).
    type: str
requirements:
  - python >= 3.11
  - networkx >= 3.2
  - jsonschema >= 4.20
  - psycopg >= 3.1 (only for a C(postgresql://) store)
"""
