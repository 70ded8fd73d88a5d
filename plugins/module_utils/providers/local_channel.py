# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Commands and files in a ``local`` server's sandbox, byte for byte (the ``sandbox`` connection plugin).

``LocalProvider.exec`` is what installers use: text tails of the output. A connection plugin needs
more: a command's standard input (Ansible's pipelining sends the module there), its whole output as
bytes (a module's JSON answer can be larger than a tail), and files copied in and out. All of it
goes through the agent's authenticated endpoints (``/exec`` with ``stdin``, ``output_limit`` and
``encoding: base64``; ``/put`` and ``/fetch`` in chunks), never around the agent.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import InputError, PermanentError
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers import local_agent
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.local import LocalProvider

CHUNK = 1024 * 1024                  # bytes per /put or /fetch (the agent takes up to 2 MiB)
OUTPUT_LIMIT = local_agent.MAX_OUTPUT


@dataclass(frozen=True)
class RawResult:
    """How a command ended, with its output as bytes."""

    rc: int
    stdout: bytes
    stderr: bytes
    timed_out: bool = False


class SandboxChannel:
    """One local server's sandbox, reached through its agent."""

    def __init__(self, provider: LocalProvider, provider_id: str):
        self.provider, self.provider_id = provider, provider_id

    def run(self, argv: list, stdin: bytes | None = None, timeout: float | None = None,
            cwd: str | None = None) -> RawResult:
        """Run ``argv`` (a list) with ``stdin``; the whole output (up to 32 MiB a stream) as bytes.
        More output than that is an error rather than a silently cut answer."""
        if isinstance(argv, str) or not (argv and all(isinstance(a, str) for a in argv)):
            raise InputError("must be a non-empty list of strings (never a shell string)", key="argv")
        body = {"argv": list(argv), "env": {}, "cwd": cwd, "timeout": timeout, "output_limit": OUTPUT_LIMIT,
                "encoding": "base64"}
        if stdin is not None:
            body["stdin"] = base64.b64encode(stdin).decode("ascii")
        wait = None if timeout is None else timeout + local_agent.KILL_GRACE + self.provider.http_timeout
        payload = self.provider.agent_call(self.provider_id, "/exec", body, timeout=wait)
        for stream in ("stdout", "stderr"):
            if payload.get(stream + "_bytes", 0) > OUTPUT_LIMIT:
                raise PermanentError("%s wrote %d bytes to %s in local server %r: more than the %d a connection "
                                     "returns" % (argv[0], payload[stream + "_bytes"], stream, self.provider_id,
                                                  OUTPUT_LIMIT))
        return RawResult(rc=payload["rc"], stdout=base64.b64decode(payload["stdout"]),
                         stderr=base64.b64decode(payload["stderr"]), timed_out=bool(payload["timed_out"]))

    def put(self, local_path: str, remote_path: str) -> int:
        """Copy the local file ``local_path`` to ``remote_path`` in the sandbox; the bytes copied."""
        offset = 0
        with open(local_path, "rb") as handle:
            while True:
                data = handle.read(CHUNK)
                if not data and offset:
                    break
                self.provider.agent_call(self.provider_id, "/put", {
                    "path": remote_path, "offset": offset, "data": base64.b64encode(data).decode("ascii")},
                    timeout=self.provider.http_timeout + 30.0)
                offset += len(data)
                if not data:
                    break       # an empty file: created by the first (empty) chunk
        return offset

    def fetch(self, remote_path: str, local_path: str) -> int:
        """Copy ``remote_path`` from the sandbox to the local file ``local_path``; the bytes copied.
        ``FileNotFoundError`` when there is no such file in the sandbox."""
        offset, size = 0, None
        tmp = "%s.part-%s" % (local_path, os.urandom(4).hex())
        try:
            with open(tmp, "wb") as handle:
                while size is None or offset < size:
                    payload = self.provider.agent_call(self.provider_id, "/fetch", {
                        "path": remote_path, "offset": offset, "length": CHUNK},
                        timeout=self.provider.http_timeout + 30.0)
                    data = base64.b64decode(payload["data"])
                    size = payload["size"] if size is None else size
                    if not data:
                        break   # the file shrank while it was read: what there was
                    handle.write(data)
                    offset += len(data)
            os.replace(tmp, local_path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return offset
