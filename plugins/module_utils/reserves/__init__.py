# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Warm reserves (DESIGN.md "Reserves": Aegir's hosting_reserve, with what EC2 warm pools add).

A reserve keeps ready clones of a template (a server type and, optionally, a template application
deployed and started on every clone), hands one out under a permanent name in one transaction
(``claim``), migrates it to that name later, expires stale clones and refills inside a time window.

- ``window``, ``durations``, ``settings``, ``schema``: the settings and their rules (pure);
- ``states``: the clone life cycle and the events it writes;
- ``decision``: what one housekeeping pass does to a reserve's clones (pure);
- ``template``: the template application and the document of each clone's own application;
- ``clones``: building, returning and deleting one clone (the I/O: server flows, converges);
- ``claim``: claim and release; ``housekeeping``: one pass; ``service``: the entry points.
"""
