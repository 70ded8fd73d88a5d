# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""State that does not outlive an execution environment's job, and the warning that says so.

AWX (and ansible-navigator) run each job in a fresh container of an execution environment and throw
it away afterwards: a SQLite store, or the sandboxes and agents of the ``local`` provider, made
inside it are gone when the job ends, and the next job starts from nothing. Nothing fails, so
nothing would tell the user; these warnings do.

Detection (``in_execution_environment``): ``APPGRAPH_EXECUTION_ENVIRONMENT`` decides when it is set
(``1``/``true``: yes, ``0``/``false``: no, to silence it on a persistent volume); else an AWX job
(``AWX_HOST`` with ``JOB_ID``, both set by AWX in every job's environment), or ansible-runner's
container layout (``/runner/project`` inside a container: ``/run/.containerenv`` of podman or
``/.dockerenv`` of docker). Pure functions: the caller passes the environment and a path test.
"""

from __future__ import annotations

from typing import Callable, Mapping

OVERRIDE = "APPGRAPH_EXECUTION_ENVIRONMENT"
CONTAINER_MARKERS = ("/run/.containerenv", "/.dockerenv")
RUNNER_PROJECT = "/runner/project"
_YES = {"1", "true", "yes", "on"}
_NO = {"0", "false", "no", "off", ""}


def in_execution_environment(environ: Mapping[str, str], path_exists: Callable[[str], bool]) -> bool:
    """True inside an execution environment's throwaway container (see the module's docstring)."""
    override = environ.get(OVERRIDE)
    if override is not None and override.strip().lower() in _YES | _NO:
        return override.strip().lower() in _YES
    if environ.get("AWX_HOST") and environ.get("JOB_ID"):
        return True
    return path_exists(RUNNER_PROJECT) and any(path_exists(marker) for marker in CONTAINER_MARKERS)


def ephemeral_state_warnings(sqlite_store: str | None, local_provider: bool, environ: Mapping[str, str],
                             path_exists: Callable[[str], bool]) -> list:
    """The warnings for state that the job's container takes with it.

    ``sqlite_store`` is the SQLite file in use (None for a PostgreSQL store); ``local_provider`` is
    True when the task makes or keeps servers of the ``local`` provider.
    """
    if not in_execution_environment(environ, path_exists):
        return []
    warnings = []
    if sqlite_store:
        warnings.append(
            "the store is the SQLite file %s inside an execution environment: it is lost when this job's "
            "container is removed, and the next job will not know what this one made. Point the store at "
            "PostgreSQL: an 'appgraph store' credential (examples/awx/credential_type.yml) sets APPGRAPH_STORE="
            "postgresql://user@host/db and APPGRAPH_STORE_PASSWORD, or give store: postgresql://... "
            "(set %s=0 when the file is on a volume that outlives the job)" % (sqlite_store, OVERRIDE))
    if local_provider:
        warnings.append(
            "the local provider runs its servers as processes and folders inside this execution environment's "
            "container: they stop and vanish with the job. Use the ec2 or ssh provider for servers that must "
            "outlive it (set %s=0 to silence this where the container is not thrown away)" % OVERRIDE)
    return warnings
