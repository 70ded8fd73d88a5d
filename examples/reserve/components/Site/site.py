# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""site.py: the reserve demo's site, over HTTP (Python 3 standard library only).

    python3 site.py --port 8001 --data DIR

Serves what build_site.py built in DIR, under whatever name it is reached as (the ``Host`` header):
a claimed clone answers under its new name at once, as a web server answers for an alias.

- ``GET /``: an HTML page naming the site (the host asked for) and listing the first products;
- ``GET /site.json``: ``{"site": <host>, "products": n, "build": {...}}``;
- ``GET /products/<id>``: a product's page; ``GET /health``: ``{"status": "ok"}``.

Listens on 127.0.0.1 only; exits on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sqlite3
import sys
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

from webshop import HOST, JsonHandler, make_log, serve_until_signalled

log = make_log("site")


class Handler(JsonHandler):
    server_version = "reserve-site/1"

    def site_name(self) -> str:
        return (self.headers.get("Host") or "").rsplit(":", 1)[0] or "unknown"

    def send_html(self, status: int, body: str) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        path = urlsplit(self.path).path
        data = self.server.data
        if path == "/health":
            self.reply(200, {"status": "ok"})
        elif path == "/site.json":
            self.reply(200, {"site": self.site_name(), "products": self.server.count(), "build": self.server.build})
        elif path == "/":
            rows = self.server.query("SELECT id, name FROM products ORDER BY id LIMIT 10")
            items = "".join('<li><a href="/products/%d">%s</a></li>' % (n, html.escape(name)) for n, name in rows)
            self.send_html(200, "<!doctype html><title>%s</title><h1>Welcome to %s</h1><p>%d products</p><ul>%s</ul>"
                           % (html.escape(self.site_name()), html.escape(self.site_name()), self.server.count(),
                              items))
        elif path.startswith("/products/") and path[len("/products/"):].isdigit():
            page = os.path.join(data, "pages", "%d.html" % int(path[len("/products/"):]))
            if os.path.isfile(page):
                with open(page, encoding="utf-8") as handle:
                    self.send_html(200, handle.read())
            else:
                self.reply(404, {"error": "no such product"})
        else:
            self.reply(404, {"error": "no such path: %s" % path})

    do_HEAD = do_GET


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, data: str):
        super().__init__((HOST, port), Handler)
        self.data, self.log = data, log
        with open(os.path.join(data, "build.json"), encoding="utf-8") as handle:
            self.build = json.load(handle)

    def query(self, sql: str) -> list:
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "catalogue.db"), uri=True)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def count(self) -> int:
        return self.query("SELECT COUNT(*) FROM products")[0][0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data", required=True)
    args = parser.parse_args(argv)
    if not os.path.isfile(os.path.join(args.data, "build.json")):
        sys.stderr.write("%s holds no built site (no build.json): deploy first\n" % args.data)
        return 2
    server = SiteServer(args.port, args.data)
    log("serving %s on %s:%d" % (args.data, HOST, args.port))
    return serve_until_signalled(server, log)


if __name__ == "__main__":
    sys.exit(main())
