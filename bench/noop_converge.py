"""An unchanged application costs nothing: converging 1,000 instances that are already started.

Usage: python bench/noop_converge.py [--vms 249] [--repeat 7]

Prints (asserts nothing):
1. the module's own time for the no-op: a fresh Python process (as a module runs) importing the
   engine and calling ``api.application.ensure_application(src=..., state=started)``. As under
   Ansible, ``ansible.module_utils.basic`` is imported first (every module pays for it, it is not
   counted) and the engine is imported from a copy without ``__pycache__``, compiled from source
   (AnsiballZ imports modules from a zip: every run compiles them anew). Median and best of --repeat.
2. the whole ``ansible-playbook`` no-op run against a playbook with one trivial
   ``ansible.builtin.ping`` task, side by side (interleaved), median of --repeat, and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))

from playbook_scale import application, run_playbook  # noqa: E402

PING = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Nothing at all
      ansible.builtin.ping:
"""

NOOP = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The application, already started
      appgraph.lifecycle.application:
        name: scale
        src: "{{ app_file }}"
        state: started
        parallelism: 50
"""

# What one module run does, timed inside a fresh interpreter (its start-up excluded).
IN_PROCESS = r"""
import json, sys, time
import ansible.module_utils.basic
t0 = time.perf_counter()
sys.path.insert(0, %(collection)r)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
t1 = time.perf_counter()
with Store(%(store)r) as store:
    result = ensure_application(store, src=%(src)r, state="started", parallelism=50)
t2 = time.perf_counter()
assert not result["changed"], result["diff"]
print(json.dumps({"imports": t1 - t0, "call": t2 - t1, "total": t2 - t0}))
"""


def uncompiled_copy(folder: str) -> str:
    """The collection's plugins copied to ``folder`` without byte code (a collections path)."""
    target = os.path.join(folder, "ansible_collections", "appgraph", "lifecycle")
    shutil.copytree(os.path.join(REPO, "plugins"), os.path.join(target, "plugins"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def module_time(src: str, store: str, collection: str) -> dict:
    code = IN_PROCESS % {"collection": collection, "store": store, "src": src}
    done = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vms", type=int, default=249)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    app_file = os.path.join(folder, "scale.app.yml")
    with open(app_file, "w") as out:
        yaml.safe_dump(application(args.vms), out)
    store = os.path.join(folder, "noop.db")
    run_playbook(folder, NOOP, {"app_file": app_file}, store)          # brings it up once
    count = 2 + args.vms * 4

    collection = uncompiled_copy(os.path.join(folder, "uncompiled"))
    runs = [module_time(app_file, store, collection) for _run in range(args.repeat)]
    print("# no-op converge of %d started instances (Python %s, %d CPUs)" % (count, sys.version.split()[0],
                                                                             os.cpu_count()))
    for key in ("imports", "call", "total"):
        values = [r[key] * 1000 for r in runs]
        print("module's own time, %-7s median %6.1f ms, best %6.1f ms" % (key + ":", statistics.median(values),
                                                                          min(values)))
    noop, ping = [], []
    for _run in range(args.repeat):        # interleaved: both see the same machine
        noop.append(run_playbook(folder, NOOP, {"app_file": app_file}, store))
        ping.append(run_playbook(folder, PING, {}, store))
    print("whole ansible-playbook: no-op application task median %.3f s (best %.3f), ping task median %.3f s "
          "(best %.3f); ratio of medians %.2f x (target <= 1.3 x)"
          % (statistics.median(noop), min(noop), statistics.median(ping), min(ping),
             statistics.median(noop) / statistics.median(ping)))


if __name__ == "__main__":
    main()
