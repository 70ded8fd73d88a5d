# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""webshop.py: what the webshop's services share (Python 3 standard library only).

It lives in the recipes of the ``Service`` component, which ``Db``, ``Api`` and ``Lb`` extend: the
script installer merges inherited recipes, so this file sits beside ``kv.py``, ``api.py`` and
``lb.py`` on every server.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler

HOST = "127.0.0.1"


def make_log(name):
    """``log(message)``: one stamped line on stderr, as ``<time> <name>[<pid>]: <message>``."""
    def log(message):
        sys.stderr.write("%s %s[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), name, os.getpid(), message))
        sys.stderr.flush()
    return log


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers JSON and logs through ``server.log``."""

    protocol_version = "HTTP/1.1"

    def extra_headers(self) -> dict:
        """Headers every answer carries (none here)."""
        return {}

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        self.server.log(format % args)

    def reply(self, status, payload):
        body = (json.dumps(payload, sort_keys=True) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in self.extra_headers().items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


class WatchedJson:
    """A JSON file read again whenever it changes (inode, size, mtime) or when ``reload()`` is asked."""

    def __init__(self, path, default, log):
        self.path = path
        self.default = default
        self.log = log
        self.lock = threading.Lock()
        self.signature = None
        self.value = default
        self.forced = False

    def reload(self):
        self.forced = True

    def _signature(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def current(self):
        with self.lock:
            signature = self._signature()
            if signature != self.signature or self.forced:
                self.forced = False
                self.signature = signature
                if signature is None:
                    self.value = self.default
                else:
                    try:
                        with open(self.path, encoding="utf-8") as handle:
                            self.value = json.load(handle)
                        self.log("read %s: %s" % (self.path, json.dumps(self.value, sort_keys=True)))
                    except (OSError, ValueError) as exc:  # keep the last good value
                        self.log("cannot read %s, keeping the previous value: %s" % (self.path, exc))
            return self.value


def write_endpoints(prefix, output, environ, key):
    """Write ``{key: [{host, port}]}`` to ``output`` (atomically) from the script installer's import
    variables ``<prefix>_size`` and ``<prefix>_<i>_ip`` / ``<prefix>_<i>_port``; return it."""
    try:
        size = int(environ.get("%s_size" % prefix, "0") or 0)
    except ValueError:
        raise SystemExit("%s_size is not a number: %r" % (prefix, environ.get("%s_size" % prefix))) from None
    endpoints = []
    for i in range(size):
        host = environ.get("%s_%d_ip" % (prefix, i))
        port = environ.get("%s_%d_port" % (prefix, i))
        if not host or not port:
            raise SystemExit("%s_%d_ip and %s_%d_port must both be set (%s_size=%d)" % (prefix, i, prefix, i, prefix, size))
        endpoints.append({"host": host, "port": int(port)})
    config = {key: endpoints}
    tmp = "%s.tmp-%d" % (output, os.getpid())
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(config, handle, sort_keys=True)
    os.replace(tmp, output)
    return config


def serve_until_signalled(server, log, config=None):
    """Serve until SIGTERM/SIGINT, then close the socket; SIGHUP re-reads ``config`` (a WatchedJson)."""
    def stop(signum, _frame):
        log("signal %d, stopping" % signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if config is not None:
        signal.signal(signal.SIGHUP, lambda _signum, _frame: config.reload())
        config.current()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0
