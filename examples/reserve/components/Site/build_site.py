# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""build_site.py: the reserve demo's slow build (Python 3 standard library only).

    python3 build_site.py --data DIR --products N --seconds S

Generates ``DIR/catalogue.db`` (a SQLite database of N products with prices and descriptions) and
``DIR/pages/`` (one HTML page per product), then warms the pages up until at least S seconds have
passed since the start: it renders and digests every page again, then waits a little, round after
round, as a real install spends most of its minutes waiting (on downloads, on a database) rather than
computing. That is the build a reserve does in advance. Writes ``DIR/build.json`` last (what was built,
and how long it took); a build that dies leaves no build.json, and the next one starts again.
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import random
import shutil
import sqlite3
import sys
import time

WORDS = ("red", "green", "small", "large", "wooden", "steel", "garden", "kitchen", "travel", "winter", "lamp",
         "chair", "kettle", "scarf", "table", "clock", "mug", "basket", "bicycle", "tent")


def build_catalogue(path: str, products: int, rng: random.Random) -> None:
    tmp = path + ".tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    db = sqlite3.connect(tmp)
    db.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price_cents INTEGER NOT NULL, "
               "description TEXT NOT NULL)")
    rows = []
    for number in range(1, products + 1):
        name = "%s %s %s" % (rng.choice(WORDS), rng.choice(WORDS), number)
        rows.append((number, name.title(), rng.randint(100, 99999), " ".join(rng.choices(WORDS, k=30))))
    db.executemany("INSERT INTO products VALUES (?, ?, ?, ?)", rows)
    db.execute("CREATE INDEX products_name ON products (name)")
    db.commit()
    db.close()
    os.replace(tmp, path)


def page(product) -> str:
    number, name, cents, description = product
    return ("<!doctype html><title>%s</title><h1>%s</h1><p>%d.%02d EUR</p><p>%s</p>"
            % (html.escape(name), html.escape(name), cents // 100, cents % 100, html.escape(description)))


def build_pages(database: str, folder: str) -> list:
    if os.path.isdir(folder):
        shutil.rmtree(folder)
    os.makedirs(folder)
    db = sqlite3.connect(database)
    products = db.execute("SELECT id, name, price_cents, description FROM products ORDER BY id").fetchall()
    db.close()
    for product in products:
        with open(os.path.join(folder, "%d.html" % product[0]), "w", encoding="utf-8") as handle:
            handle.write(page(product))
    return products


def warm_up(products: list, until: float, pause: float = 0.2) -> int:
    """Render and digest every page again, then wait ``pause``, until ``until`` (at least one round)."""
    rounds = 0
    while rounds == 0 or time.monotonic() < until:
        digest = hashlib.sha256()
        for product in products:
            digest.update(page(product).encode())
        rounds += 1
        time.sleep(max(0.0, min(pause, until - time.monotonic())))
    return rounds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args(argv)
    started = time.monotonic()
    os.makedirs(args.data, exist_ok=True)
    done = os.path.join(args.data, "build.json")
    if os.path.exists(done):
        os.unlink(done)
    rng = random.Random(42)                 # the same catalogue on every clone: it is the template's
    database = os.path.join(args.data, "catalogue.db")
    build_catalogue(database, args.products, rng)
    products = build_pages(database, os.path.join(args.data, "pages"))
    rounds = warm_up(products, started + args.seconds)
    report = {"products": len(products), "warm_up_rounds": rounds, "seconds": round(time.monotonic() - started, 3),
              "built_at": time.time()}
    with open(done + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(report, handle, sort_keys=True)
    os.replace(done + ".tmp", done)
    sys.stderr.write("built %s\n" % json.dumps(report, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
