# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""api.py: the webshop demo's API server (Python 3 standard library only).

    python3 api.py serve --port 8002 --name "/api-vm 1/api" --db-config /path/db.json
    python3 api.py write-config --prefix Db --output /path/db.json

``serve``:
- ``GET /health``: ``{"status": "ok", "instance": name}`` (the process answers; says nothing of the db).
- ``GET /whoami``: ``{"instance": name, "pid": ..., "port": ...}``.
- ``GET /products``: ``{"served_by": name, "products": [...]}``, read from the key ``products`` of
  the key-value database; the first call on an empty database stores a few products (seeding with
  ``If-None-Match: *``, so two API servers seeding at once store one list). 503 with
  ``{"error": ...}`` when no database answers.
Every answer carries the header ``X-Appgraph-Instance: <name>``. Listens on 127.0.0.1 only.

The database addresses come from the JSON file ``--db-config`` (``{"dbs": [{"host", "port"}]}``;
the first one that answers is used). The file is read again when it changes (checked on each
request) or on SIGHUP, so ``update.sh`` rewrites it and the server follows without a restart.

``write-config`` writes that file, atomically, from the script installer's import variables:
``<prefix>_size`` and ``<prefix>_<i>_ip`` / ``<prefix>_<i>_port``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from webshop import HOST, JsonHandler, WatchedJson, make_log, serve_until_signalled, write_endpoints

DB_TIMEOUT = 2.0
PRODUCTS_KEY = "products"
SEED_PRODUCTS = [
    {"id": 1, "name": "Teapot", "price": 24.50},
    {"id": 2, "name": "Espresso cup", "price": 6.90},
    {"id": 3, "name": "Coffee grinder", "price": 49.00},
    {"id": 4, "name": "Loose-leaf tea, 250 g", "price": 12.00},
]


log = make_log("api")


class DbUnavailable(Exception):
    """No configured database answered."""


class Db:
    """The key-value database(s) named in the config file."""

    def __init__(self, config):
        self.config = config

    def request(self, method, key, body=None, headers=None):
        """``(status, payload)`` from the first database that answers."""
        dbs = self.config.current().get("dbs") or []
        if not dbs:
            raise DbUnavailable("no database is configured (%s lists none)" % self.config.path)
        errors = []
        for db in dbs:
            conn = http.client.HTTPConnection(db["host"], int(db["port"]), timeout=DB_TIMEOUT)
            try:
                data = None if body is None else json.dumps(body).encode()
                conn.request(method, "/kv/%s" % key, body=data, headers=dict(headers or {}))
                response = conn.getresponse()
                raw = response.read()
                return response.status, (json.loads(raw) if raw else None)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                errors.append("%s:%s: %s" % (db["host"], db["port"], str(exc) or type(exc).__name__))
            finally:
                conn.close()
        raise DbUnavailable("the database is unreachable (%s)" % "; ".join(errors))

    def products(self):
        status, value = self.request("GET", PRODUCTS_KEY)
        if status == 404:  # a fresh database: seed it, once, whoever comes first
            status = self.request("PUT", PRODUCTS_KEY, SEED_PRODUCTS, {"If-None-Match": "*"})[0]
            if status not in (200, 412):
                raise DbUnavailable("the database refused the seed products (HTTP %d)" % status)
            log("seeded the database with %d products" % len(SEED_PRODUCTS) if status == 200
                else "another API server seeded the database first")
            status, value = self.request("GET", PRODUCTS_KEY)
        if status != 200:
            raise DbUnavailable("the database answered HTTP %d for %r" % (status, PRODUCTS_KEY))
        return value


class Handler(JsonHandler):
    server_version = "webshop-api/1"

    def extra_headers(self) -> dict:
        return {"X-Appgraph-Instance": self.server.name}

    def do_GET(self):
        name = self.server.name
        path = urlsplit(self.path).path
        if path == "/health":
            self.reply(200, {"status": "ok", "instance": name})
        elif path == "/whoami":
            self.reply(200, {"instance": name, "pid": os.getpid(), "port": self.server.server_address[1]})
        elif path == "/products":
            try:
                products = self.server.db.products()
            except DbUnavailable as exc:
                self.reply(503, {"error": str(exc), "served_by": name})
                return
            self.reply(200, {"served_by": name, "products": products})
        else:
            self.reply(404, {"error": "no such path: %s" % path, "served_by": name})

    do_HEAD = do_GET


def serve(args):
    config = WatchedJson(args.db_config, {"dbs": []}, log)
    server = ThreadingHTTPServer((HOST, args.port), Handler)
    server.log = log
    server.name = args.name
    server.db = Db(config)
    log("%s listening on %s:%d, databases from %s" % (args.name, HOST, args.port, args.db_config))
    try:  # seed now if the database is there; a failure here is retried on the first request
        server.db.products()
    except DbUnavailable as exc:
        log("no products yet: %s" % exc)
    return serve_until_signalled(server, log, config)


def main(argv=None):
    parser = argparse.ArgumentParser(description="The webshop demo's API server.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_serve = sub.add_parser("serve", help="run the API server")
    p_serve.add_argument("--port", type=int, required=True)
    p_serve.add_argument("--name", required=True, help="the instance's name, shown by /whoami")
    p_serve.add_argument("--db-config", required=True, help="JSON file listing the databases")
    p_write = sub.add_parser("write-config", help="write --db-config from the import variables")
    p_write.add_argument("--prefix", default="Db")
    p_write.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    if args.command == "write-config":
        print(json.dumps(write_endpoints(args.prefix, args.output, os.environ, "dbs"), sort_keys=True))
        return 0
    return serve(args)


if __name__ == "__main__":
    sys.exit(main())
