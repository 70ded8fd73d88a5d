# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: sandbox
short_description: Run tasks inside a local server's sandbox, through its agent
version_added: 0.1.0
author: appgraph.lifecycle contributors (!UNKNOWN)
description:
  - Runs commands and copies files inside the sandbox of a server of the collection's C(local)
    provider (a sandbox directory with an agent process on 127.0.0.1), as the C(community.docker.docker)
    connection plugin does inside a container.
  - Every command goes through the agent's authenticated C(/exec) endpoint (the agent's secret token
    is read from the sandbox, which only its owner may read), with the module on its standard input
    when pipelining is on; files go through the agent's C(/put) and C(/fetch) endpoints in chunks of
    1 MiB. Nothing goes around the agent.
  - Commands run in the sandbox directory, with C(HOME) set to it (so C(~/.ansible/tmp) is in the
    sandbox) and the clean environment the agent gives every command. Paths of files copied in or out
    are relative to the sandbox, and none may lead out of it.
notes:
  - The server must be running (C(appgraph.lifecycle.server_pool) or an application's C(server)
    root made it); a stopped server fails the task as unreachable.
  - Commands run as the user that runs the agent. Privilege escalation with a password prompt is
    not supported (a command's standard input is the module or nothing, never a terminal).
  - A stream of more than 32 MiB in one command's output fails the task rather than being cut.
extends_documentation_fragment:
  - connection_pipelining
options:
  server:
    description:
      - The server's id at the C(local) provider, which is the name of its sandbox directory
        (C(appgraph_provider_id) in the C(appgraph.lifecycle.servers) inventory).
    type: str
    vars:
      - name: inventory_hostname
      - name: appgraph_provider_id
      - name: appgraph_sandbox_server
  root:
    description:
      - The C(local) provider's root, the directory of the sandboxes (its C(root) option).
      - Default C(~/.local/state/appgraph/local), as for the provider.
    type: path
    env:
      - name: APPGRAPH_LOCAL_ROOT
    vars:
      - name: appgraph_local_root
  command_timeout:
    description:
      - Seconds a command may run before the agent kills it (its process group, TERM then KILL).
      - C(0) means no limit (the task's own C(timeout) still applies).
    type: int
    default: 0
    vars:
      - name: appgraph_sandbox_command_timeout
"""

EXAMPLES = r"""
# An inventory of local servers (appgraph.lifecycle.servers gives appgraph_provider_id)
# [sandboxes]
# web-1 ansible_connection=appgraph.lifecycle.sandbox appgraph_local_root=/var/lib/appgraph/local

- name: Configure the application inside its local servers
  hosts: sandboxes
  gather_facts: false
  vars:
    ansible_connection: appgraph.lifecycle.sandbox
    ansible_python_interpreter: /usr/bin/python3
  tasks:
    - name: Write the configuration (relative paths are in the sandbox)
      ansible.builtin.template:
        src: app.conf.j2
        dest: conf/app.conf
        mode: "0600"
"""

import os

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.connection import ConnectionBase
from ansible.utils.display import Display

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import AppGraphError, TransientError

display = Display()

# The provider and its channel (http.client, ssl, the agent's code: ~25 ms of imports) are imported
# when a connection is made, not with the plugin: every worker of a run loads the plugin of its
# host, even for a task that never connects (debug, set_fact, assert run on the controller), and
# each worker is a fresh fork of ansible-playbook, which has never imported them itself.


class Connection(ConnectionBase):
    """Commands and files in a local server's sandbox, through its agent."""

    transport = "appgraph.lifecycle.sandbox"
    has_pipelining = True

    def __init__(self, play_context, new_stdin, *args, **kwargs):
        super().__init__(play_context, new_stdin, *args, **kwargs)
        self._channel = None

    def _connect(self):
        if self._connected:
            return self
        server = self.get_option("server")
        if not server:
            raise AnsibleConnectionFailure("appgraph.lifecycle.sandbox needs the server's id (appgraph_provider_id)")
        root = self.get_option("root")
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider
        # pylint: disable-next=import-outside-toplevel
        from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local_channel import SandboxChannel
        provider = LocalProvider(root=os.path.expanduser(root) if root else None)
        display.vvv("SANDBOX %s under %s" % (server, provider.root), host=server)
        self._channel = SandboxChannel(provider, server)
        self._connected = True
        return self

    def exec_command(self, cmd, in_data=None, sudoable=True):
        """Run ``cmd`` with the shell executable, ``in_data`` on its standard input."""
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        executable = self._play_context.executable or "/bin/sh"
        argv = [executable, "-c", to_text(cmd, errors="surrogate_or_strict")]
        display.vvv("EXEC %s%s" % (argv, " (with %d bytes of input)" % len(in_data) if in_data else ""),
                    host=self._channel.provider_id)
        timeout = self.get_option("command_timeout") or None
        try:
            result = self._channel.run(argv, stdin=to_bytes(in_data) if in_data is not None else None,
                                       timeout=timeout)
        except AppGraphError as exc:
            raise self._failure("run a command", exc) from exc
        return result.rc, result.stdout, result.stderr

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv("PUT %s TO %s" % (in_path, out_path), host=self._channel.provider_id)
        if not os.path.isfile(to_bytes(in_path, errors="surrogate_or_strict")):
            raise AnsibleFileNotFound("file or module does not exist: %s" % to_native(in_path))
        try:
            self._channel.put(in_path, to_text(out_path, errors="surrogate_or_strict"))
        except AppGraphError as exc:
            raise self._failure("copy %s to %s" % (in_path, out_path), exc) from exc

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv("FETCH %s TO %s" % (in_path, out_path), host=self._channel.provider_id)
        try:
            self._channel.fetch(to_text(in_path, errors="surrogate_or_strict"), out_path)
        except FileNotFoundError as exc:
            raise AnsibleFileNotFound("file does not exist in the sandbox: %s" % to_native(in_path)) from exc
        except AppGraphError as exc:
            raise self._failure("fetch %s" % in_path, exc) from exc

    def _failure(self, what, exc):
        message = "cannot %s in local server %s: %s" % (what, self._channel.provider_id, exc)
        if isinstance(exc, TransientError) or "no local server" in str(exc):
            return AnsibleConnectionFailure(message)    # unreachable: the server is not (or no longer) there
        return AnsibleError(message)

    def close(self):
        super().close()
        self._connected = False
