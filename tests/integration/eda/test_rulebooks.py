# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's rulebooks under the real ``ansible-rulebook``, events caused by real
``ansible-playbook`` runs: heal (a root goes problem -> reconcile), refill (a reserve runs low ->
a pass over it), REST in (a webhook request's result comes back as an outbox event), and a kill -9
mid-stream that loses nothing."""

from __future__ import annotations

import glob
import json
import os
import re
import secrets
import signal
import socket
import time
import urllib.error
import urllib.request

import pytest

from ansible_collections.appgraph.lifecycle.plugins.module_utils.store import events as store_events
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store

from ansible_collections.appgraph.lifecycle.tests.helpers.net import free_port
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

from .rulebook import RULEBOOKS, Rulebook, rulebook_env, run_eda_playbook

pytestmark = pytest.mark.slow

HEALING_APP = """\
application: healing
components:
  VM:  {installer: server, provider: local, provider_options: {root: "%s", heartbeat_interval: 0.2}, children: [App]}
  App: {installer: noop}
instances:
  - {name: vm, component: VM, children: [{name: app, component: App}]}
"""

MANY_APP = """\
application: many
components:
  Host: {installer: noop, children: [Part]}
  Part: {installer: noop}
instances:
  - {name: host, component: Host, count: 30, children: [{name: part, component: Part, count: 4}]}
"""


def outbox(store, **filters) -> list:
    with Store(str(store)) as opened:
        return store_events.read_batch(opened, 0, limit=1_000_000, **filters).events


def cursor_files(state_dir) -> list:
    return glob.glob(os.path.join(str(state_dir), "appgraph", "eda", "*.cursor"))


def ready(rulebook, state_dir):
    """The source has read the store once: it wrote its cursor."""
    return rulebook.wait_until(lambda: cursor_files(state_dir), 120, what="the event source's first read")


# -- a root goes problem -> reconcile -------------------------------------------------------------------


def test_heal_rulebook_runs_reconcile_when_a_root_goes_problem(tmp_path, local_root):
    store, state = tmp_path / "store.db", tmp_path / "state"
    (tmp_path / "healing.app.yml").write_text(HEALING_APP % local_root, encoding="utf-8")
    run_eda_playbook(tmp_path, "converge.yml", store, app_file=str(tmp_path / "healing.app.yml"))
    launch = json.loads(open(glob.glob(os.path.join(local_root, ".fleet-*", "*", "launch.json"))[0]).read())
    heartbeat = glob.glob(os.path.join(local_root, ".fleet-*", "*", "heartbeat"))[0]

    with Rulebook("appgraph.lifecycle.heal", tmp_path, rulebook_env(store, state), "--persistence-id", "heal") as heal:
        ready(heal, state)
        os.kill(launch["pid"], signal.SIGSTOP)                 # the agent stops beating
        try:
            wait_until(lambda: time.time() - os.stat(heartbeat).st_mtime > 1.0, 30, what="three missed heartbeats")
            looked = run_eda_playbook(tmp_path, "look.yml", store, app="healing")
            assert '"/vm": "problem"' in looked.stdout.replace('\\"', '"'), looked.stdout
        finally:
            os.kill(launch["pid"], signal.SIGCONT)             # it beats again: reconcile will see it
        problem = [e for e in outbox(store, kinds=["state"]) if e.data.get("after") == "problem"]
        assert [e.subject for e in problem] == ["/vm"]

        def healed():
            return [e for e in outbox(store, kinds=["state"])
                    if e.id > problem[0].id and e.subject == "/vm" and e.data.get("after") == "deployed_started"]
        heal.wait_until(healed, 120, what="reconcile (run by the rulebook) to heal /vm")
    assert "PLAY [Reconcile the appgraph servers]" in heal.output


# -- a reserve runs low -> a pass refills it ----------------------------------------------------------------


def test_refill_rulebook_refills_a_reserve_a_claim_left_low_once_per_claim(tmp_path, local_root):
    store, state = tmp_path / "store.db", tmp_path / "state"
    run_eda_playbook(tmp_path, "reserve.yml", store, reserve="trial", root=local_root, size=2)

    def ready_clones():
        return sorted(e.data["clone"] for e in outbox(store, kinds=["clone_ready"]))
    assert ready_clones() == ["trial-clone-1", "trial-clone-2"]

    with Rulebook("appgraph.lifecycle.refill", tmp_path, rulebook_env(store, state), "--persistence-id",
                  "refill") as refill:
        ready(refill, state)
        run_eda_playbook(tmp_path, "reserve.yml", store, reserve="trial", root=local_root, size=2, alias="acme")
        refill.wait_until(lambda: "trial-clone-3" in ready_clones(), 180, what="the rulebook's pass to build a clone")
        run_eda_playbook(tmp_path, "reserve.yml", store, reserve="trial", root=local_root, size=2, alias="bob")
        refill.wait_until(lambda: "trial-clone-4" in ready_clones(), 180, what="a second pass for the second claim")
    low = [e.data for e in outbox(store, kinds=["reserve_low"])]
    # the first fill built two; then each claim left one ready clone and nobody building, and each
    # pass the rulebook ran said it was building one
    assert [(d["available"], d["refilling"]) for d in low] == [(0, 2), (1, 0), (1, 1), (1, 0), (1, 1)]
    # actions run one after another: a pass started by a pass's own event would have run before the
    # second claim's pass
    assert refill.output.count("PLAY [Reconcile the appgraph servers]") == 2, refill.output[-4000:]
    with Store(str(store)) as opened:
        assert opened.application_names() == []


# -- REST in ----------------------------------------------------------------------------------------------


def post(port, path, body, token=None):
    request = urllib.request.Request("http://127.0.0.1:%d/%s" % (port, path), data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
    if token:
        request.add_header("Authorization", "Bearer %s" % token)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as error:
        return error.code


def listening(port) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def test_rest_rulebook_runs_a_request_and_its_result_comes_back_as_an_outbox_event(tmp_path):
    store, state = tmp_path / "store.db", tmp_path / "state"
    Store(str(store)).close()
    port, token = free_port(), secrets.token_hex(16)
    env = rulebook_env(store, state, APPGRAPH_WEBHOOK_PORT=port, APPGRAPH_WEBHOOK_TOKEN=token)
    with Rulebook("appgraph.lifecycle.rest", tmp_path, env, "--env-vars",
                  "APPGRAPH_WEBHOOK_PORT,APPGRAPH_WEBHOOK_TOKEN") as rest:
        rest.wait_until(lambda: listening(port), 120, what="the webhook on 127.0.0.1:%d" % port)
        assert post(port, "reconcile", {"request_id": "r-0"}) == 401
        assert post(port, "reconcile", {"request_id": "r-0"}, token="wrong") == 401
        assert post(port, "reconcile", {"request_id": "r-1", "applications": False}, token=token) == 200
        assert post(port, "backup", {"request_id": "r-2"}, token=token) == 200

        def finished():
            done = {e.subject: e for e in outbox(store, kinds=["request_finished"])}
            return done if {"r-1", "r-2"} <= set(done) else None
        done = rest.wait_until(finished, 180, what="request_finished events for r-1 and r-2")
    assert "r-0" not in done
    ok, refused = done["r-1"].data, done["r-2"].data
    assert (ok["service"], ok["ok"], ok["error"], ok["request_id"]) == ("reconcile", True, None, "r-1")
    assert set(ok["summary"]) >= {"advanced", "hanging", "pruned"}
    assert (refused["service"], refused["ok"]) == ("backup", False)
    assert "no service backup" in refused["error"]


# -- at least once across a kill -9 -------------------------------------------------------------------------


def seen_ids(*outputs) -> list:
    return [int(n) for text in outputs for n in re.findall(r"^SEEN (\d+)\s*$", text, re.M)]


def test_kill_9_mid_stream_and_a_restart_lose_no_event(tmp_path, any_store):
    state = tmp_path / "state"
    (tmp_path / "many.app.yml").write_text(MANY_APP, encoding="utf-8")
    run_eda_playbook(tmp_path, "converge.yml", any_store, app_file=str(tmp_path / "many.app.yml"))
    first_batch = [e.id for e in outbox(any_store, kinds=["state", "desired"])]
    assert len(first_batch) > 500

    env = rulebook_env(any_store, state)
    count_rulebook = str(RULEBOOKS / "count.yml")
    first = Rulebook(count_rulebook, tmp_path, env, "--persistence-id", "count", name="first").start()
    try:
        first.wait_until(lambda: len(seen_ids(first.output)) >= len(first_batch) // 3, 120, what="a third of the events")
        first.kill()                                          # kill -9, mid-stream
    finally:
        first.stop()
    before_kill = seen_ids(first.output)
    assert len(before_kill) < len(first_batch), "the stream was over before the kill"

    # Events recorded while no rulebook runs are read after the restart too.
    run_eda_playbook(tmp_path, "converge.yml", any_store, app_file=str(tmp_path / "many.app.yml"), app_state="stopped")
    every = [e.id for e in outbox(any_store, kinds=["state", "desired"])]
    with Rulebook(count_rulebook, tmp_path, env, "--persistence-id", "count", name="second") as second:
        second.wait_until(lambda: set(seen_ids(second.output)) | set(before_kill) >= set(every), 180,
                          what="every event after the restart")
        after_restart = seen_ids(second.output)

    assert set(before_kill) | set(after_restart) == set(every)         # nothing lost
    assert before_kill == sorted(before_kill) and after_restart == sorted(after_restart)
    again = set(before_kill) & set(after_restart)

    assert len(again) <= 100, "only events in flight at the kill (taken in its last moments) come again: %d did" % len(again)
