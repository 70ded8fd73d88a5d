# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""lb.py: the webshop demo's round-robin load balancer (Python 3 standard library only).

    python3 lb.py serve --port 8003 --backends /path/backends.json
    python3 lb.py write-config --prefix Api --output /path/backends.json

``serve``:
- ``GET /health``: the balancer's own health, ``{"status": "ok", "backends": ["host:port", ...]}``.
- Any other request is passed to the next backend in turn (round robin) and the answer is sent
  back with the header ``X-Appgraph-Backend: host:port`` naming the backend that gave it. A
  backend that refuses the connection is skipped for that request (the next one is tried), so a
  backend that is gone is dropped even before the backends file says so. 502 with
  ``{"error": ...}`` when there is no backend, or none accepts the connection.
Listens on 127.0.0.1 only.

The backends come from the JSON file ``--backends`` (``{"backends": [{"host", "port"}]}``), read
again when it changes (checked on each request) or on SIGHUP: ``start.sh`` and ``update.sh``
write it, so backends come and go without a restart.

``write-config`` writes that file, atomically, from the script installer's import variables:
``<prefix>_size`` and ``<prefix>_<i>_ip`` / ``<prefix>_<i>_port`` (zero backends is allowed).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import sys
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from webshop import HOST, JsonHandler, WatchedJson, make_log, serve_until_signalled, write_endpoints

CONNECT_TIMEOUT = 2.0
BACKEND_TIMEOUT = 15.0
MAX_BODY = 16 * 1024 * 1024
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailers", "transfer-encoding", "upgrade", "content-length", "host"))
NOT_FORWARDED_BACK = HOP_BY_HOP | {"server", "date"}


log = make_log("lb")


class Balancer:
    """The backend list and the round-robin turn."""

    def __init__(self, config):
        self.config = config
        self.turn = itertools.count()
        self.lock = threading.Lock()

    def backends(self):
        return [(b["host"], int(b["port"])) for b in self.config.current().get("backends") or []]

    def in_turn(self):
        """The backends, starting with the one whose turn it is."""
        backends = self.backends()
        if not backends:
            return []
        with self.lock:
            start = next(self.turn) % len(backends)
        return backends[start:] + backends[:start]


class Handler(JsonHandler):
    server_version = "webshop-lb/1"

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("the body must be 0 to %d bytes" % MAX_BODY)
        return self.rfile.read(length) if length else None

    def proxy(self):
        if urlsplit(self.path).path == "/health" and self.command in ("GET", "HEAD"):
            names = ["%s:%d" % b for b in self.server.balancer.backends()]
            self.reply(200, {"status": "ok", "backends": names})
            return
        try:
            body = self.read_body()
        except ValueError as exc:
            self.reply(400, {"error": str(exc)})
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["X-Forwarded-For"] = self.client_address[0]
        refused = []
        for host, port in self.server.balancer.in_turn():
            name = "%s:%d" % (host, port)
            conn = http.client.HTTPConnection(host, port, timeout=CONNECT_TIMEOUT)
            try:
                try:
                    conn.connect()
                except OSError as exc:  # gone: try the next one
                    refused.append("%s: %s" % (name, exc))
                    log("backend %s refused the connection, trying the next: %s" % (name, exc))
                    continue
                conn.sock.settimeout(BACKEND_TIMEOUT)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    data = response.read()
                except (OSError, http.client.HTTPException) as exc:  # never retried: it may have acted
                    self.reply(502, {"error": "backend %s failed: %s" % (name, str(exc) or type(exc).__name__),
                                     "backend": name})
                    return
            finally:
                conn.close()
            self.send_response(response.status, response.reason)
            for key, value in response.getheaders():
                if key.lower() not in NOT_FORWARDED_BACK:
                    self.send_header(key, value)
            self.send_header("X-Appgraph-Backend", name)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            return
        if refused:
            self.reply(502, {"error": "no backend accepted the connection", "tried": refused})
        else:
            self.reply(502, {"error": "no backend: the load balancer knows no API server"})

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = proxy


def serve(args):
    config = WatchedJson(args.backends, {"backends": []}, log)
    server = ThreadingHTTPServer((HOST, args.port), Handler)
    server.log = log
    server.balancer = Balancer(config)
    log("listening on %s:%d, backends from %s" % (HOST, args.port, args.backends))
    return serve_until_signalled(server, log, config)


def main(argv=None):
    parser = argparse.ArgumentParser(description="The webshop demo's round-robin load balancer.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the load balancer")
    p_serve.add_argument("--port", type=int, required=True)
    p_serve.add_argument("--backends", required=True, help="JSON file listing the backends")
    p_write = sub.add_parser("write-config", help="write --backends from the import variables")
    p_write.add_argument("--prefix", default="Api")
    p_write.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    if args.command == "write-config":
        print(json.dumps(write_endpoints(args.prefix, args.output, os.environ, "backends"), sort_keys=True))
        return 0
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
