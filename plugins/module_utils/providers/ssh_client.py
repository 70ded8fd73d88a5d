# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SSH path of the ``ssh`` provider: the system ``ssh`` client, run through ``subprocess``.

Every call runs ``ssh ... -- <address> 'sh -s'`` and sends a small POSIX shell script on its
standard input. The script's text is fixed; what comes from the user (paths, names, argv, env
values) only reaches it as the words of one ``set --`` line, each quoted with ``shlex.quote``,
so nothing of it is ever parsed as shell code. The script, not the command line, carries the data:
a command line is one argument of the remote login shell (128 KiB at most on Linux), a script on
standard input has no such limit.

The scripts answer in lines that start with a random nonce (``\\n<nonce> <word> ...``), so what a
login shell prints on its own (a ``.bashrc`` that talks) is told apart from the answer. ``ssh``
failures (no route, a refused key, a host key that does not match) print no such line and become
``TransientError`` or ``PermanentError`` with ssh's own message.

Options: ``BatchMode=yes`` (never a prompt), ``ConnectTimeout``, ``ServerAliveInterval`` (a dead
link is noticed), host key checking (strict by default), and ``ControlMaster=auto`` with
``ControlPersist`` and a ``ControlPath`` in a private directory of this user (0700, checked): the
first command to a machine opens the connection, the next ones reuse it for ``ControlPersist``
seconds (a round trip instead of a key exchange).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import shlex
import stat
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from typing import Mapping, Sequence

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (
    InputError, PermanentError, TransientError)

TAIL_BYTES = 64 * 1024
KILL_GRACE = 3.0            # seconds between the remote SIGTERM and SIGKILL of a command past its timeout
MAX_SESSIONS = 8            # commands at once over one connection (sshd's MaxSessions is 10 by default)
ALIVE_INTERVAL = 15         # seconds between keep-alive probes of an idle-looking connection
MAX_CONTROL_DIR = 60
CHECKING = {"strict": "yes", "accept-new": "accept-new", "off": "no"}

# ssh's own words for what no retry will change: a refused key, a host key that is unknown or has
# changed, a name that does not resolve.
_PERMANENT = re.compile(r"Permission denied|Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|"
                        r"No \S+ host key is known|Could not resolve hostname|Too many authentication failures|"
                        r"Bad configuration option|no argument after keyword|Name or service not known", re.I)


@dataclass(frozen=True)
class Host:
    """One host entry: a slot on a machine. Several entries may name the same machine."""

    name: str
    address: str
    port: int
    user: str

    @property
    def connection(self) -> tuple:
        return (self.address, self.port, self.user)

    @property
    def label(self) -> str:
        address = "[%s]" % self.address if ":" in self.address else self.address
        return "%s@%s:%d" % (self.user, address, self.port)


@dataclass(frozen=True)
class Answer:
    """What a remote script said: ``lines`` (the text after the nonce of each of its answer lines)
    and, for ``exec``, the raw bytes after its ``ran`` line (``payload``)."""

    lines: list
    payload: bytes


class SshClient:
    """Runs scripts on hosts with the system ``ssh``. Thread-safe; one per provider object."""

    def __init__(self, private_key_file: str | None, known_hosts_file: str | None, host_key_checking: str,
                 connect_timeout: float, control_persist: float, control_dir: str, ssh: str = "ssh"):
        self.private_key_file = private_key_file
        self.known_hosts_file = known_hosts_file
        self.host_key_checking = host_key_checking
        self.connect_timeout = connect_timeout
        self.control_persist = control_persist
        self.control_dir = control_dir
        self.ssh = ssh
        self._lock = threading.Lock()
        self._sessions: dict = {}   # connection -> BoundedSemaphore
        self._warm: dict = {}       # connection -> Lock held while the first command opens the master
        self._warmed: set = set()

    # -- argv --------------------------------------------------------------------------------------

    def control_path(self, host: Host) -> str:
        """One socket per connection and per way of authenticating (a master opened with one key
        is never reused by a provider configured with another)."""
        key = "\0".join([host.address, str(host.port), host.user, self.private_key_file or "",
                         self.known_hosts_file or "", self.host_key_checking])
        return os.path.join(self.control_dir, hashlib.sha256(key.encode()).hexdigest()[:20])

    def argv(self, host: Host, *extra: str) -> list:
        """The ssh command line for ``host``, ``extra`` options before the address; the remote
        command, if any, goes after it."""
        argv = [self.ssh, "-T", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=%d" % max(1, math.ceil(self.connect_timeout)),
                "-o", "ServerAliveInterval=%d" % ALIVE_INTERVAL, "-o", "ServerAliveCountMax=3",
                "-o", "StrictHostKeyChecking=%s" % CHECKING[self.host_key_checking]]
        if self.host_key_checking == "off":
            argv += ["-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null"]
        elif self.known_hosts_file:
            argv += ["-o", "UserKnownHostsFile=%s" % config_path(self.known_hosts_file)]
        if self.private_key_file:
            argv += ["-o", "IdentityFile=%s" % config_path(self.private_key_file), "-o", "IdentitiesOnly=yes"]
        if self.control_persist > 0:
            argv += ["-o", "ControlMaster=auto", "-o", "ControlPersist=%d" % max(1, math.ceil(self.control_persist)),
                     "-o", "ControlPath=%s" % config_path(self.control_path(host))]
        else:
            argv += ["-o", "ControlMaster=no", "-o", "ControlPath=none"]
        return argv + ["-l", host.user, "-p", str(host.port)] + list(extra) + ["--", host.address]

    def ansible_args(self) -> str:
        """``ansible_ssh_common_args``: the same host key checking as this client's commands (Ansible
        splits the string as a shell would; its own ``ssh`` connection keeps its own masters)."""
        options = ["BatchMode=yes", "StrictHostKeyChecking=%s" % CHECKING[self.host_key_checking]]
        if self.host_key_checking == "off":
            options += ["UserKnownHostsFile=/dev/null", "GlobalKnownHostsFile=/dev/null"]
        elif self.known_hosts_file:
            options.append("UserKnownHostsFile=%s" % config_path(self.known_hosts_file))
        if self.private_key_file:
            options.append("IdentitiesOnly=yes")
        return " ".join("-o %s" % shlex.quote(option) for option in options)

    # -- running -----------------------------------------------------------------------------------

    def run(self, host: Host, script: str, args: Sequence[str], timeout: float | None = None,
            what: str = "run a command") -> Answer:
        """Run ``script`` (fixed text) with ``args`` as its positional parameters on ``host``.

        ``timeout`` bounds the whole call (None: no bound but ssh's keep-alives). Raises
        ``TransientError`` / ``PermanentError`` when ssh fails or the script gives no answer.
        """
        if self.private_key_file and not os.path.isfile(self.private_key_file):
            raise PermanentError("cannot %s on %s: the private key file %s does not exist"
                                 % (what, host.label, self.private_key_file))
        nonce = os.urandom(12).hex()
        text = "N=%s\nset -- %s\n%s" % (nonce, " ".join(shlex.quote(a) for a in args), script)
        with self._session(host):
            try:
                proc = subprocess.run(self.argv(host) + ["sh -s"], input=text.encode(), capture_output=True,
                                      timeout=timeout, check=False)
            except subprocess.TimeoutExpired:
                raise TransientError("cannot %s on %s: no answer within %.1f s" % (what, host.label, timeout)) from None
            except OSError as exc:
                raise PermanentError("cannot %s on %s: cannot run %s: %s" % (what, host.label, self.ssh,
                                                                             exc.strerror)) from exc
        answer = parse(proc.stdout, nonce)
        if answer is None:
            raise ssh_failure(host, what, proc.returncode, proc.stderr.decode("utf-8", "replace"))
        return answer

    def _session(self, host: Host):
        """A slot among ``MAX_SESSIONS``; the first command to a connection opens the master alone,
        so that the others reuse it instead of each doing a key exchange of its own."""
        with self._lock:
            key = host.connection
            semaphore = self._sessions.setdefault(key, threading.BoundedSemaphore(MAX_SESSIONS))
            warm = self._warm.setdefault(key, threading.Lock())
            warmed = key in self._warmed or self.control_persist <= 0
        return _Session(self, key, semaphore, None if warmed else warm)

    def close(self, hosts: Sequence[Host]) -> None:
        """Ask the master of every connection of ``hosts`` to exit (they exit by themselves after
        ``ControlPersist`` seconds otherwise)."""
        if self.control_persist <= 0:
            return
        done = set()
        for host in hosts:
            path = self.control_path(host)
            if path in done or not os.path.exists(path):
                continue
            done.add(path)
            subprocess.run(self.argv(host, "-O", "exit"), capture_output=True, timeout=10, check=False,
                           stdin=subprocess.DEVNULL)
        with self._lock:
            self._warmed.clear()


class _Session:
    def __init__(self, client: SshClient, key: tuple, semaphore, warm):
        self.client, self.key, self.semaphore, self.warm = client, key, semaphore, warm

    def __enter__(self):
        self.semaphore.acquire()
        if self.warm is not None:
            self.warm.acquire()
            with self.client._lock:  # pylint: disable=protected-access
                opened = self.key in self.client._warmed  # pylint: disable=protected-access
            if opened:                  # another command opened the master while this one waited
                self.warm.release()
                self.warm = None
        return self

    def __exit__(self, *exc_info):
        if self.warm is not None:
            with self.client._lock:  # pylint: disable=protected-access
                self.client._warmed.add(self.key)  # pylint: disable=protected-access
            self.warm.release()
        self.semaphore.release()
        return False


def parse(stdout: bytes, nonce: str) -> Answer | None:
    """The lines a script printed after its nonce, or None when it printed none (ssh failed)."""
    head = nonce.encode() + b" "
    start = stdout.find(b"\n" + head)
    if start < 0:
        return None
    lines, payload, rest = [], b"", stdout[start + 1:]
    while rest.startswith(head):
        line, _newline, rest = rest[len(head):].partition(b"\n")
        lines.append(line.decode("utf-8", "replace"))
        if line.startswith(b"ran "):
            payload = rest
            break
    return Answer(lines, payload)


def ssh_failure(host: Host, what: str, rc: int, stderr: str) -> Exception:
    """The engine's error for an ssh call that gave no answer."""
    said = " ".join(line.strip() for line in stderr.strip().splitlines()[-3:]) or "no message"
    message = "cannot %s on %s: ssh exited with code %d: %s" % (what, host.label, rc, said)
    if _PERMANENT.search(stderr):
        return PermanentError(message + " (check the user, private_key_file, known_hosts_file and host_key_checking "
                                        "options)")
    return TransientError(message, retry_after=2.0)


def config_path(path: str) -> str:
    """``path`` as a value of an ``-o`` option: quoted (spaces), ``%`` doubled (ssh's tokens)."""
    return '"%s"' % path.replace("%", "%%")


def check_path(value: str | None, key: str) -> str | None:
    """A local file path for ssh: absolute, without what ssh would expand or cut."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InputError("must be a non-empty path", key=key)
    if re.search(r'[\x00-\x1f\x7f"]|\$\{', value):
        raise InputError("must not contain control characters, '\"' or '${'", key=key)
    return os.path.abspath(os.path.expanduser(value))


def private_dir(environ: Mapping[str, str]) -> str:
    """This user's private directory for control sockets (and an inline key): created 0700, and
    refused when someone else owns it or may read it. ``$APPGRAPH_SSH_CONTROL_DIR`` overrides it."""
    path = environ.get("APPGRAPH_SSH_CONTROL_DIR") or os.path.join(
        environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir(), "appgraph-ssh-%d" % os.getuid())
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise PermanentError("the ssh control directory %s must be a directory of this user with mode 0700" % path)
    if len(path) > MAX_CONTROL_DIR:  # a socket path has ~104 bytes; ssh adds 17 while it makes one
        raise PermanentError("the ssh control directory %s is too long for a socket path (at most %d characters): "
                             "set APPGRAPH_SSH_CONTROL_DIR to a shorter one" % (path, MAX_CONTROL_DIR))
    return path


# -- the remote scripts (POSIX sh; user data only in the "set --" line above them) -----------------

# $1 state dir, then triples: slot name, expected claim (or -), touch the heartbeat (1/0).
# Answers "boot <boot id>", then "slot <i> <claim> <stopped> <reboot-from> <server.json on one line>".
PROBE = r"""cd || exit 1
state=$1; shift
boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) || boot=-
printf '\n%s boot %s\n' "$N" "${boot:--}"
i=0
while [ $# -ge 3 ]; do
  slot=$state/$1 want=$2 touch=$3; shift 3
  claim=$(readlink -- "$slot/claim" 2>/dev/null) || claim=-
  stopped=0; [ ! -e "$slot/stopped" ] || stopped=1
  rb=$(cat -- "$slot/reboot-from" 2>/dev/null) || rb=-
  if [ "$claim" = "$want" ]; then
    [ "$touch" = 0 ] || : > "$slot/heartbeat" 2>/dev/null
    if [ "${rb:--}" != - ] && [ "$rb" != "$boot" ]; then rm -f -- "$slot/reboot-from"; rb=-; fi
  fi
  info=$(tr '\n' ' ' < "$slot/server.json" 2>/dev/null) || info=
  printf '%s slot %d %s %s %s %s\n' "$N" "$i" "${claim:--}" "$stopped" "${rb:--}" "$info"
  i=$((i + 1))
done
printf '%s end\n' "$N"
"""

# $1 state dir, $2 slot, $3 claim, $4 server.json. Answers "claimed" or "taken <claim>".
CLAIM = r"""umask 077
cd || exit 1
slot=$1/$2 want=$3 info=$4
mkdir -p -- "$slot" 2>/dev/null || { printf '\n%s error cannot create %s\n' "$N" "$slot"; exit 0; }
ln -s -- "$want" "$slot/claim" 2>/dev/null
got=$(readlink -- "$slot/claim" 2>/dev/null) || got=-
if [ "$got" != "$want" ]; then printf '\n%s taken %s\n' "$N" "${got:--}"; exit 0; fi
if [ ! -s "$slot/server.json" ]; then
  printf '%s\n' "$info" > "$slot/.server.json.$$" && mv -f -- "$slot/.server.json.$$" "$slot/server.json"
fi
rm -f -- "$slot/stopped"
: > "$slot/heartbeat"
printf '\n%s claimed %s\n' "$N" "$(cd -- "$slot" && pwd -P)"
"""

# $1 state dir, $2 slot, $3 claim, $4 action: stop | delete | reboot-from <boot id>.
# Answers "done", "gone" (no claim) or "other <claim>".
RELEASE = r"""umask 077
cd || exit 1
state=$1 slot=$1/$2 want=$3 action=$4
got=$(readlink -- "$slot/claim" 2>/dev/null) || got=-
if [ "${got:--}" = - ]; then printf '\n%s gone\n' "$N"; exit 0; fi
if [ "$got" != "$want" ]; then printf '\n%s other %s\n' "$N" "$got"; exit 0; fi
case $action in
  stop) : > "$slot/stopped" ;;
  reboot-from) printf '%s\n' "$5" > "$slot/reboot-from" ;;
  delete)
    trash=$state/.trash-$$-$N
    mv -- "$slot" "$trash" && rm -rf -- "$trash" ;;
esac
printf '\n%s done\n' "$N"
"""

# $1 state dir, $2 slot, $3 claim, $4 cwd (empty: the slot), $5 timeout (empty: none), $6 grace,
# then the argv. The environment comes as "export" lines after this header (see ``exec_script``).
# Answers "ran <rc> <timed out> <stdout bytes> <stderr bytes>" followed by the two tails.
EXEC_HEAD = r"""cd || exit 1
slot=$1/$2 want=$3 cwd=$4 limit=$5 grace=$6; shift 6
cd -- "$slot" 2>/dev/null && [ "$(readlink -- claim 2>/dev/null)" = "$want" ] \
  || { printf '\n%s not-adopted\n' "$N"; exit 0; }
[ ! -e stopped ] || { printf '\n%s stopped\n' "$N"; exit 0; }
: > heartbeat
if [ -n "$cwd" ]; then cd -- "$cwd" 2>/dev/null || { printf '\n%s no-cwd\n' "$N"; exit 0; }; fi
d=$(mktemp -d "${TMPDIR:-/tmp}/appgraph-exec.XXXXXX") || { printf '\n%s no-tmp\n' "$N"; exit 0; }
trap 'rm -rf -- "$d"' EXIT
S=$(command -v sh)
T=
if [ -n "$limit" ]; then T=$(command -v timeout) || { printf '\n%s no-timeout\n' "$N"; exit 0; }; fi
(
"""
# Output goes to files, not to ssh's pipes: a service the command leaves in the background keeps
# its descriptors, and must not hold the session open. ``timeout`` puts the command in a process
# group of its own and signals the whole group (TERM, then KILL after the grace period).
EXEC_TAIL = r"""  if [ -n "$T" ]; then
    exec "$T" --verbose -k "$grace" "$limit" "$S" -c 'exec "$@" >"$0/out" 2>"$0/err"' "$d" "$@" \
      </dev/null 2>"$d/timeout"
  fi
  exec "$@" </dev/null >"$d/out" 2>"$d/err"
)
rc=$?
to=0; [ ! -s "$d/timeout" ] || to=1
tail -c %(tail)d "$d/out" > "$d/o" 2>/dev/null; tail -c %(tail)d "$d/err" > "$d/e" 2>/dev/null
printf '\n%%s ran %%s %%s %%s %%s\n' "$N" "$rc" "$to" "$(wc -c < "$d/o")" "$(wc -c < "$d/e")"
cat -- "$d/o" "$d/e"
""" % {"tail": TAIL_BYTES}


def exec_script(env: Mapping[str, str]) -> str:
    """The ``exec`` script: the environment as ``export`` lines (names checked by the caller,
    values quoted), inside the subshell that runs the command, so the script's own tools keep
    their ``PATH``."""
    exports = "".join("  export %s=%s\n" % (key, shlex.quote(value)) for key, value in sorted(env.items()))
    return EXEC_HEAD + exports + EXEC_TAIL
