# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Counting what a store connection runs, to hold a code path to its number of statements."""

from __future__ import annotations


class CountingDb:
    """A store connection that records the SQL of every statement it runs (``BEGIN`` for a write
    transaction) in ``seen``; everything else goes to the connection it wraps."""

    def __init__(self, db, seen: list):
        self._db, self._seen = db, seen

    def __getattr__(self, name):
        return getattr(self._db, name)

    def query(self, sql, params=()):
        self._seen.append(sql)
        return self._db.query(sql, params)

    def execute(self, sql, params=()):
        self._seen.append(sql)
        return self._db.execute(sql, params)

    def executemany(self, sql, rows):
        self._seen.append(sql)
        return self._db.executemany(sql, rows)

    def begin_write(self, application):
        self._seen.append("BEGIN")
        return self._db.begin_write(application)


def counting_store(store_class, seen: list):
    """A subclass of ``store_class`` (``Store``) whose connection is a ``CountingDb`` once it is open:
    opening (the schema check) is not counted. Put it where the code under test looks ``Store`` up."""

    class CountingStore(store_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.db = CountingDb(self.db, seen)

    return CountingStore
