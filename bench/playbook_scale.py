"""A 1,000-instance application (noop installers) deployed and started by ONE `application` task,
beside the same application driven by a loop of `instance` tasks.

Usage: python bench/playbook_scale.py [--vms 250] [--loop-sample 100]
The whole `ansible-playbook` run is timed (start-up included: that is what a user waits for).
The loop is timed over --loop-sample instances and extrapolated to all of them (printed as such),
because a loop over 1,000 instances takes minutes by design.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


def application(vms: int) -> dict:
    return {
        "application": "scale",
        "components": {
            "VM": {"installer": "noop", "children": ["Server", "Db"]},
            "Db": {"installer": "noop", "exports": {"ip": None, "port": 5432}},
            "Server": {"installer": "noop", "imports": ["Db.*"], "children": ["App"]},
            "App": {"installer": "noop"},
        },
        "instances": [
            {"name": "db-vm", "component": "VM", "children": [{"name": "db", "component": "Db"}]},
            {"name": "vm", "component": "VM", "count": vms, "children": [
                {"name": "server", "component": "Server", "children": [{"name": "app", "component": "App", "count": 2}]}]},
        ],
    }


ONE_TASK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Add and start the whole application in one task
      appgraph.lifecycle.application:
        name: scale
        src: "{{ app_file }}"
        state: started
        parallelism: 50
"""

LOOP = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Add the application
      appgraph.lifecycle.application:
        name: scale
        src: "{{ app_file }}"
        state: present
    - name: Start instances one task at a time (the slow path)
      appgraph.lifecycle.instance:
        application: scale
        path: "{{ item }}"
        state: started
      loop: "{{ paths }}"
"""


def run_playbook(folder: str, text: str, extra: dict, store: str) -> float:
    path = os.path.join(folder, "play-%d.yml" % len(os.listdir(folder)))
    with open(path, "w") as out:
        out.write(text)
    vars_file = path + ".vars.yml"
    with open(vars_file, "w") as out:
        yaml.safe_dump(extra, out)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collection"), APPGRAPH_STORE=store,
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    start = time.perf_counter()
    done = subprocess.run([ANSIBLE_PLAYBOOK, path, "-e", "@" + vars_file], env=env, capture_output=True, text=True,
                          check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit("playbook failed:\n%s\n%s" % (done.stdout[-3000:], done.stderr[-3000:]))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=249)
    parser.add_argument("--loop-sample", type=int, default=100)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    doc = application(args.vms)
    app_file = os.path.join(folder, "scale.app.yml")
    with open(app_file, "w") as out:
        yaml.safe_dump(doc, out)
    count = 2 + args.vms * 4
    one = run_playbook(folder, ONE_TASK, {"app_file": app_file}, os.path.join(folder, "one.db"))
    print("instances: %d; one `application` task, whole ansible-playbook run: %.2f s (target < 5 s)" % (count, one))
    again = run_playbook(folder, ONE_TASK, {"app_file": app_file}, os.path.join(folder, "one.db"))
    print("same playbook again (nothing to do): %.2f s" % again)
    # The loop: instance paths in an order that works one at a time (parents first; the db first).
    paths = ["/db-vm", "/db-vm/db"]
    for i in range(1, args.vms + 1):
        paths += ["/vm %d" % i, "/vm %d/server" % i, "/vm %d/server/app 1" % i, "/vm %d/server/app 2" % i]
    sample = paths[:args.loop_sample]
    loop = run_playbook(folder, LOOP, {"app_file": app_file, "paths": sample}, os.path.join(folder, "loop.db"))
    per_task = loop / len(sample)
    print("loop of `instance` tasks over %d instances: %.2f s (%.3f s per task); extrapolated to %d: %.1f s"
          % (len(sample), loop, per_task, count, per_task * count))
    print("ratio (loop, extrapolated / one task): %.0f x" % (per_task * count / one))


if __name__ == "__main__":
    main()
