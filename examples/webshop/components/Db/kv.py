# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""kv.py: the webshop demo's database, a key-value store over HTTP (Python 3 standard library only).

    python3 kv.py --port 8001 --data /path/kv-data.json

- ``GET /health``: ``{"status": "ok", "keys": n}``.
- ``GET /kv``: ``{"keys": [...]}``.
- ``GET /kv/<key>``: the JSON value stored under ``key``; 404 when there is none.
- ``PUT /kv/<key>``: store the JSON body (400 if it is not JSON). With ``If-None-Match: *`` the
  write happens only if the key is new (else 412), so concurrent seeders never clash.
- ``DELETE /kv/<key>``: remove the key (404 when there is none).

Values are kept in memory and written to ``--data`` (atomically) after every change, so a restart
keeps them. Listens on 127.0.0.1 only; logs one line per request to stderr; exits on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from http.server import ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

from webshop import HOST, JsonHandler, make_log, serve_until_signalled

log = make_log("kv")
MAX_BODY = 1024 * 1024


class Store:
    """The key -> JSON value map, persisted to one file."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.data = {}
        if path and os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                loaded = json.load(handle)
            if not isinstance(loaded, dict):
                raise ValueError("%s does not hold a JSON object" % path)
            self.data = loaded

    def get(self, key):
        with self.lock:
            return self.data.get(key)

    def keys(self):
        with self.lock:
            return sorted(self.data)

    def put(self, key, value, only_if_new=False):
        """Store ``value``; return True if stored, False if ``only_if_new`` and the key exists."""
        with self.lock:
            if only_if_new and key in self.data:
                return False
            self.data[key] = value
            self._save()
            return True

    def delete(self, key):
        with self.lock:
            if key not in self.data:
                return False
            del self.data[key]
            self._save()
            return True

    def _save(self):
        if not self.path:
            return
        tmp = "%s.tmp-%d" % (self.path, os.getpid())
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.data, handle, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, self.path)


class Handler(JsonHandler):
    server_version = "webshop-kv/1"

    @property
    def store(self):
        return self.server.store

    def key(self):
        """The key named by the path (``/kv/<key>``), '' for ``/kv``, None for another path."""
        path = urlsplit(self.path).path
        if path in ("/kv", "/kv/"):
            return ""
        if path.startswith("/kv/"):
            return unquote(path[len("/kv/"):])
        return None

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("the body must be 0 to %d bytes" % MAX_BODY)
        return self.rfile.read(length)

    def do_GET(self):
        if urlsplit(self.path).path == "/health":
            self.reply(200, {"status": "ok", "keys": len(self.store.keys())})
            return
        key = self.key()
        if key is None:
            self.reply(404, {"error": "no such path: %s" % self.path})
        elif key == "":
            self.reply(200, {"keys": self.store.keys()})
        else:
            value = self.store.get(key)
            if value is None:
                self.reply(404, {"error": "no such key: %s" % key})
            else:
                self.reply(200, value)

    do_HEAD = do_GET

    def do_PUT(self):
        key = self.key()
        if not key:
            self.reply(404, {"error": "PUT needs a key: /kv/<key>"})
            return
        try:
            value = json.loads(self.read_body() or b"null")
        except ValueError as exc:
            self.reply(400, {"error": "the body is not JSON: %s" % exc})
            return
        if value is None:
            self.reply(400, {"error": "the body must be a JSON value other than null"})
            return
        only_if_new = self.headers.get("If-None-Match", "").strip() == "*"
        if self.store.put(key, value, only_if_new=only_if_new):
            self.reply(200, {"key": key, "stored": True})
        else:
            self.reply(412, {"key": key, "stored": False, "error": "the key exists already"})

    def do_DELETE(self):
        key = self.key()
        if not key:
            self.reply(404, {"error": "DELETE needs a key: /kv/<key>"})
        elif self.store.delete(key):
            self.reply(200, {"key": key, "deleted": True})
        else:
            self.reply(404, {"error": "no such key: %s" % key})


def main(argv=None):
    parser = argparse.ArgumentParser(description="The webshop demo's key-value store.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", help="JSON file that keeps the values across restarts")
    args = parser.parse_args(argv)
    store = Store(args.data)
    server = ThreadingHTTPServer((HOST, args.port), Handler)
    server.store = store
    server.log = log
    log("listening on %s:%d, data in %s" % (HOST, args.port, args.data))
    return serve_until_signalled(server, log)


if __name__ == "__main__":
    sys.exit(main())
