# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A PostgreSQL store's password never shows in what a task returns (``invocation.module_args``
included, which AWX stores as job events): written in the DSN it is masked, and it can be given
apart (``store_password``, or the environment)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit


from .helpers import SHOP_APP, run_playbook

PASSWORD = "Pw-only-the-store-knows-7731"


def with_password(dsn, password):
    parts = urlsplit(dsn)
    return urlunsplit((parts.scheme, "%s:%s@%s" % (parts.username, password, parts.hostname + ":%d" % parts.port),
                       parts.path, parts.query, parts.fragment))


def test_a_password_in_the_dsn_is_masked_everywhere(tmp_path, fresh_postgresql):
    postgresql_dsn = fresh_postgresql
    (tmp_path / "shop.app.yml").write_text(SHOP_APP, encoding="utf-8")
    dsn = with_password(postgresql_dsn, PASSWORD)        # the test cluster trusts loopback: any password works
    run = run_playbook(tmp_path, "store_password.yml", "-vvv", app_file=str(tmp_path / "shop.app.yml"),
                       store_dsn=dsn)
    assert run.rc == 0, run
    assert "module_args" in run.stdout and PASSWORD not in run.stdout + run.stderr


def test_the_password_can_be_given_apart(tmp_path, fresh_postgresql):
    postgresql_dsn = fresh_postgresql
    (tmp_path / "shop.app.yml").write_text(SHOP_APP, encoding="utf-8")
    run = run_playbook(tmp_path, "store_password.yml", "-vvv", app_file=str(tmp_path / "shop.app.yml"),
                       store_dsn=postgresql_dsn, store_password=PASSWORD)
    assert run.rc == 0, run
    assert PASSWORD not in run.stdout + run.stderr
