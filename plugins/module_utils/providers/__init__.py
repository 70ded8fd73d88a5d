# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where servers come from.

- ``base``: the provider contract (``Provider``, ``ServerSpec``, ``ProviderServer``, ``ExecResult``).
- ``registry``: ``get_provider(name, options)``, built-ins and the ``appgraph.providers`` entry points.
- ``local``: the embedded default (a sandbox directory plus an agent process on loopback);
  ``local_agent`` is that agent, a stdlib-only script; ``local_processes`` its POSIX process and
  file helpers.
- ``ssh``: machines that exist already, reached with the system ssh client (``ssh_client``; its
  options are checked in ``ssh_options``).
- ``local_channel``: bytes and files in and out of a local sandbox (the ``sandbox`` connection).

Nothing is imported here on purpose: importing ``base`` must not start loading every provider.
"""

from __future__ import annotations
