# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provision states: every (state, service) pair."""

from __future__ import annotations

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.provisioning import states as s

# (state, service) -> the state written first, "done" (nothing to do) or "refused".
TABLE = {
    (None, s.PROVISION): s.PROVISIONING, (s.CREATED, s.PROVISION): s.PROVISIONING,
    (s.PROVISIONED, s.PROVISION): "done", (s.DEPROVISIONED, s.PROVISION): s.PROVISIONING,
    (s.PROVISIONING_ERROR, s.PROVISION): s.PROVISIONING, (s.DEPROVISIONING_ERROR, s.PROVISION): "refused",
    (s.PROVISIONING, s.PROVISION): "refused", (s.DEPROVISIONING, s.PROVISION): "refused",
    (None, s.DEPROVISION): "done", (s.DEPROVISIONED, s.DEPROVISION): "done",
    (s.PROVISIONED, s.DEPROVISION): s.DEPROVISIONING, (s.PROVISIONING_ERROR, s.DEPROVISION): s.DEPROVISIONING,
    (s.DEPROVISIONING_ERROR, s.DEPROVISION): s.DEPROVISIONING, (s.CREATED, s.DEPROVISION): s.DEPROVISIONING,
    (s.PROVISIONING, s.DEPROVISION): "refused", (s.DEPROVISIONING, s.DEPROVISION): "refused",
    (s.PROVISIONED, s.EXPORT): s.PROVISIONED, (None, s.EXPORT): "refused", (s.DEPROVISIONED, s.EXPORT): "refused",
    (s.PROVISIONING_ERROR, s.EXPORT): "refused", (s.PROVISIONING, s.EXPORT): "refused",
    (None, s.IMPORT): s.PROVISIONING, (s.DEPROVISIONED, s.IMPORT): s.PROVISIONING,
    (s.PROVISIONED, s.IMPORT): "done", (s.PROVISIONING_ERROR, s.IMPORT): s.PROVISIONING,
    (s.DEPROVISIONING_ERROR, s.IMPORT): "refused",
}


@pytest.mark.parametrize("state, service", sorted(TABLE, key=str))
def test_transitions(state, service):
    expected = TABLE[(state, service)]
    if expected == "done":
        assert s.already_done(state, service)
        return
    assert not s.already_done(state, service)
    if expected == "refused":
        with pytest.raises(s.Refused):
            s.start(state, service)
    else:
        assert s.start(state, service) == expected


def test_every_state_and_service_is_in_the_table():
    services = (s.PROVISION, s.DEPROVISION, s.EXPORT, s.IMPORT)
    covered = set(TABLE)
    assert {(st, sv) for st in (None,) + s.STATES for sv in services} - covered <= {
        (s.CREATED, s.EXPORT), (s.CREATED, s.IMPORT), (s.DEPROVISIONING_ERROR, s.EXPORT), (s.DEPROVISIONING, s.EXPORT),
        (s.DEPROVISIONING, s.IMPORT), (s.PROVISIONING, s.IMPORT)}


def test_ends_and_interruptions():
    assert (s.finish(s.PROVISION), s.fail(s.PROVISION)) == (s.PROVISIONED, s.PROVISIONING_ERROR)
    assert (s.finish(s.DEPROVISION), s.fail(s.DEPROVISION)) == (s.DEPROVISIONED, s.DEPROVISIONING_ERROR)
    assert s.interrupted(s.PROVISIONING) == s.PROVISION and s.interrupted(s.DEPROVISIONING) == s.DEPROVISION


def test_what_to_undo_is_what_may_exist_in_reverse_order():
    parts = {"instance": {"status": s.MADE}, "storage": {"status": s.UNDO_FAILED}, "database": {"status": s.MAKING}}
    assert s.to_undo(parts, ("instance", "storage", "database")) == ["database", "storage", "instance"]
    parts = {"instance": {"status": s.UNDONE}, "storage": {"status": s.REMOVED}, "database": {"status": s.KEPT}}
    assert s.to_undo(parts, ("instance", "storage", "database")) == []
