"""The ``ansible`` installer's batched runs against one ``ansible-playbook`` per node operation (xOpera).

Usage: python bench/ansible_installer.py [--servers 10] [--per-server 20] [--opera-workers 10]
                                         [--task ping|debug] [--skip-opera] [--opera-venv DIR]

The graph: ``--servers`` local servers, each holding one ``Db`` and ``--per-server - 1`` ``App``
instances (200 in all by default); every App imports ``Db.*``. Every operation is a playbook with
one trivial task (``--task``: ``ansible.builtin.ping``, a module run on the host, or
``ansible.builtin.debug``, an action on the controller). Waves of the critical path
after the servers: deploy (Db and App), start Db, start App.

Prints (asserts nothing):
1. one ``application`` task (``ansible-playbook``) from nothing to all started: its time, the
   servers' start-up, the time per wave after it, and how many ansible-runner runs it made;
2. the same task again, everything started: its time and how many playbooks ran (0 expected);
3. xOpera 0.7.0 (``opera deploy --workers N``: one ``ansible-playbook`` per node operation)
   deploying the same graph with the same playbooks on localhost, in a virtual environment of its
   own that the bench makes (``python3 -m venv`` + ``pip install opera==0.7.0``; its PyYAML 5.4.1
   needs ``cython<3`` to build, given through ``PIP_CONSTRAINT``); and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, os.path.join(REPO, "bench"))

from _common import dies_with_us  # noqa: E402

# The trivial task of every operation: ``ping`` is a module run on the host (a Python process there
# per host), ``debug`` an action on the controller (what the orchestration alone costs).
TASKS = {"ping": "    - name: Ping\n      ansible.builtin.ping:\n",
         "debug": "    - name: Say so\n      ansible.builtin.debug:\n        msg: done\n"}
PLAY = """---
- name: A trivial operation
  hosts: all
  gather_facts: false
  tasks:
"""


def trivial(task: str) -> str:
    return PLAY + TASKS[task]


APPLY = """---
- name: One application task
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: The application, started
      appgraph.lifecycle.application:
        name: bench
        src: "{{ app_file }}"
        state: "{{ wanted }}"
        parallelism: "{{ parallelism }}"
        timeout: 1800
      register: result
    - name: Keep the result
      ansible.builtin.copy:
        content: "{{ result | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""


def write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def application(folder: str, servers: int, per_server: int, local_root: str, task: str) -> str:
    for component in ("db", "app"):
        for operation in ("deploy", "start"):
            write(os.path.join(folder, component, "playbooks", operation + ".yml"), trivial(task))
    document = {
        "application": "bench",
        "components": {
            "VM": {"installer": "server", "provider": "local", "children": ["Db", "App"],
                   "provider_options": {"root": local_root, "heartbeat_interval": 30}},
            "Db": {"installer": "ansible", "recipes": "db", "exports": {"port": 5432}},
            "App": {"installer": "ansible", "recipes": "app", "imports": ["Db.*"], "exports": {"port": 80}},
        },
        "instances": [{"name": "vm", "component": "VM", "count": servers, "children": [
            {"name": "db", "component": "Db"}, {"name": "app", "component": "App", "count": per_server - 1}]}],
    }
    path = os.path.join(folder, "bench.app.yml")
    write(path, json.dumps(document, indent=1))
    return path


def apply(folder: str, app_file: str, store: str, wanted: str, parallelism: int) -> tuple:
    playbook, out = os.path.join(folder, "apply.yml"), os.path.join(folder, "result-%s.json" % time.time())
    write(playbook, APPLY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, "collection"), APPGRAPH_STORE=store,
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    extra = json.dumps({"app_file": app_file, "wanted": wanted, "parallelism": parallelism, "out": out})
    started = time.perf_counter()
    done = subprocess.run([os.path.join(BIN, "ansible-playbook"), playbook, "-e", extra], env=env,
                          capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit("the application task failed:\n%s\n%s" % (done.stdout[-4000:], done.stderr[-2000:]))
    with open(out, encoding="utf-8") as handle:
        return took, json.load(handle)


def waves(result: dict) -> dict:
    """Per kind of operation: how long its batches took (their longest operation) and how many."""
    found: dict = {}
    for op in result["operations"]:
        component = op["path"].rsplit("/", 1)[-1].rstrip("0123456789").strip()
        key = (op["operation"], component)
        entry = found.setdefault(key, {"longest": 0.0, "batches": set()})
        entry["longest"] = max(entry["longest"], op["duration"])
        if "batch" in op:
            entry["batches"].add(op["batch"])
    return found


def ours(args, folder: str) -> tuple:
    local_root = os.path.join(folder, "servers")
    app_file = application(os.path.join(folder, "app"), args.servers, args.per_server, local_root, args.task)
    store = os.path.join(folder, "store.db")
    parallelism = args.servers * args.per_server + args.servers
    cold, result = apply(folder, app_file, store, "started", parallelism)
    states = {i["state"] for i in result["instances"]}
    found = waves(result)
    server = found.get(("deploy", "vm"), {"longest": 0.0})["longest"]
    runs = len({op["batch"] for op in result["operations"] if "batch" in op})
    print("1. %d instances on %d local servers, nothing -> started, one application task: %.1f s (states: %s)"
          % (len(result["instances"]), args.servers, cold, ", ".join(sorted(states))))
    for (operation, component), entry in sorted(found.items()):
        print("   %-7s %-4s longest operation %.2f s, %d ansible-runner run(s)"
              % (operation, component, entry["longest"], len(entry["batches"])))
    after_servers = cold - server
    print("   servers' start-up %.2f s; after it %.1f s for 3 waves: %.2f s per wave; %d runs in all"
          % (server, after_servers, after_servers / 3, runs))
    warm, again = apply(folder, app_file, store, "started", parallelism)
    played = sum(1 for op in again["operations"] if "batch" in op)
    print("2. the same task, all started: %.1f s, %d operations, %d playbook runs"
          % (warm, len(again["operations"]), played))
    apply(folder, app_file, store, "undeployed", parallelism)
    return cold, after_servers / 3


TOSCA_HEAD = """tosca_definitions_version: tosca_simple_yaml_1_3

node_types:
  bench.Db:
    derived_from: tosca.nodes.SoftwareComponent
    interfaces:
      Standard:
        type: tosca.interfaces.node.lifecycle.Standard
        operations:
          create: playbooks/deploy.yml
          start: playbooks/start.yml
  bench.App:
    derived_from: tosca.nodes.SoftwareComponent
    interfaces:
      Standard:
        type: tosca.interfaces.node.lifecycle.Standard
        operations:
          create: playbooks/deploy.yml
          start: playbooks/start.yml

topology_template:
  node_templates:
"""


def opera_template(folder: str, servers: int, per_server: int, task: str) -> str:
    write(os.path.join(folder, "playbooks", "deploy.yml"), trivial(task))
    write(os.path.join(folder, "playbooks", "start.yml"), trivial(task))
    lines = [TOSCA_HEAD]
    dbs = ["db-%d" % i for i in range(servers)]
    for i in range(servers):
        lines.append("    vm-%d:\n      type: tosca.nodes.Compute\n      attributes:\n"
                     "        private_address: localhost\n        public_address: localhost\n" % i)
        lines.append("    db-%d:\n      type: bench.Db\n      requirements:\n        - host: vm-%d\n" % (i, i))
        for j in range(per_server - 1):
            needs = "".join("        - dependency: %s\n" % db for db in dbs)
            lines.append("    app-%d-%d:\n      type: bench.App\n      requirements:\n        - host: vm-%d\n%s"
                         % (i, j, i, needs))
    path = os.path.join(folder, "service.yaml")
    write(path, "".join(lines))
    return path


def opera_venv(path: str) -> str:
    opera = os.path.join(path, "bin", "opera")
    if os.access(opera, os.X_OK):
        return opera
    subprocess.run(["python3", "-m", "venv", path], check=True)
    constraints = os.path.join(path, "constraints.txt")
    write(constraints, "cython<3\n")
    subprocess.run([os.path.join(path, "bin", "pip"), "install", "-q", "opera==0.7.0"], check=True,
                   env=dict(os.environ, PIP_CONSTRAINT=constraints))
    return opera


def opera(args, folder: str) -> float:
    binary = opera_venv(args.opera_venv)
    work = os.path.join(folder, "opera")
    template = opera_template(work, args.servers, args.per_server, args.task)
    env = dict(os.environ, PATH=os.path.dirname(binary) + os.pathsep + os.environ.get("PATH", ""),
               ANSIBLE_LOCALHOST_WARNING="false")
    started = time.perf_counter()
    done = subprocess.run([binary, "deploy", "--workers", str(args.opera_workers), os.path.basename(template)],
                          cwd=work, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit("opera deploy failed:\n%s\n%s" % (done.stdout[-3000:], done.stderr[-3000:]))
    operations = 2 * args.servers * args.per_server
    print("3. xOpera 0.7.0, the same graph and playbooks on localhost, --workers %d: %.1f s (%d ansible-playbook "
          "runs, %.2f s each on average per worker)" % (args.opera_workers, took, operations,
                                                        took * args.opera_workers / operations))
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--servers", type=int, default=10)
    parser.add_argument("--per-server", type=int, default=20)
    parser.add_argument("--opera-workers", type=int, default=10)
    parser.add_argument("--task", choices=sorted(TASKS), default="ping",
                        help="the trivial task of every operation (default: ping, a module run on the host)")
    parser.add_argument("--skip-opera", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (the runs' directories and logs)")
    parser.add_argument("--opera-venv", default=os.path.join(tempfile.gettempdir(), "appgraph-opera-venv"))
    args = parser.parse_args()
    dies_with_us()
    folder = tempfile.mkdtemp(prefix="ag-bench-ansible-")
    try:
        cold, _per_wave = ours(args, folder)
        if not args.skip_opera:
            theirs = opera(args, folder)
            print("   ratio xOpera / appgraph: %.1f x" % (theirs / cold))
    finally:
        if args.keep:
            print("kept: %s" % folder)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
