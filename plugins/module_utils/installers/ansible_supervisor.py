# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The parent of a run's ``ansible-playbook``, which never outlives the module that started it.

ansible-runner starts ``ansible-playbook`` in the module's own process. When that process is
killed (kill -9, an AWX job cancelled hard), ``ansible-playbook`` and its workers lived on: the
next converge adopted the operation the store said was under way and ran it again, beside the
orphan still running it. Started through this supervisor (ansible-runner's ``binary``), the run
is tied to the module: the kernel signals the supervisor when its parent dies
(``PR_SET_PDEATHSIG``), and the supervisor then kills the whole tree of the run (frozen first,
``ansible_run.kill_tree``), workers in sessions of their own included.

    python -c <boot: import main, exit with what it returns> <ansible-playbook> <marker> <arguments...>

``marker`` is a string of the run's command line (its inventory folder) that names its processes.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PARENT_ENV = "APPGRAPH_RUN_PARENT"      # the pid the supervisor must be the child of
PR_SET_PDEATHSIG = 1
ORPHANED = 125                          # exit status when the parent was gone before we could watch it


def die_with_parent(signum: int = signal.SIGTERM) -> bool:
    """Ask Linux to send ``signum`` when the parent dies; False where it cannot (no prctl)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signum) == 0
    except (OSError, AttributeError):
        return False


def main(argv=None, environ=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    program, marker, args = argv[0], argv[1], argv[2:]
    die_with_parent()
    if environ.get(PARENT_ENV) and str(os.getppid()) != environ[PARENT_ENV]:
        return ORPHANED                 # the module died between the fork and the prctl

    from .ansible_run import kill_tree  # pylint: disable=import-outside-toplevel

    def stop(signum, _frame):
        kill_tree(marker)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    child = subprocess.Popen([program] + list(args))    # same stdio: ansible-runner's terminal
    return child.wait()
