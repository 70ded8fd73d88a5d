# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real OpenSSH server for the tests of the ``ssh`` provider (Debian's ``openssh-server``).

``Sshd.start()`` runs ``/usr/sbin/sshd -D -e`` as the current user on 127.0.0.1 (never any other
address) on a free port, with its own ``sshd_config``, a host key and a user key generated in a
temporary directory, no PAM, no passwords, ``AuthorizedKeysFile`` in that directory. ``stop()``
ends it and every connection master the tests left open. The ``sshd`` fixture (tests/conftest.py)
holds one for the whole session.

Without an ``sshd`` the tests skip with a message saying how to get one, except under CI (``CI``
set), where a missing sshd is a failure: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

from .net import free_port

SSHD_PATHS = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
START_TIMEOUT = 20.0
ADDRESS = "127.0.0.1"

CONFIG = """\
ListenAddress {address}
Port {port}
HostKey {dir}/host_ed25519
AuthorizedKeysFile {dir}/authorized_keys
PidFile {dir}/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
MaxStartups 50:30:100
MaxSessions 20
LogLevel INFO
"""


def sshd_binary() -> str | None:
    for path in SSHD_PATHS:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("sshd")


def missing_sshd_message() -> str:
    return ("no sshd: the ssh provider's tests need Debian's openssh-server "
            "(bash .ci/setup installs it; or apt-get install openssh-server)")


@dataclass
class Sshd:
    """One running sshd and what a client needs to reach it."""

    dir: str
    port: int
    user: str
    user_key: str
    known_hosts: str
    host_public_key: str
    proc: subprocess.Popen | None = None
    address: str = ADDRESS

    @classmethod
    def start(cls, binary: str) -> "Sshd":
        base = tempfile.mkdtemp(prefix="ag-sshd-")
        os.chmod(base, 0o700)
        for name in ("host_ed25519", "user_ed25519"):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "appgraph-test", "-f",
                            os.path.join(base, name)], check=True, capture_output=True, timeout=30)
        shutil.copy(os.path.join(base, "user_ed25519.pub"), os.path.join(base, "authorized_keys"))
        with open(os.path.join(base, "host_ed25519.pub"), encoding="utf-8") as handle:
            host_public_key = " ".join(handle.read().split()[:2])
        if os.getuid() == 0 and not os.path.isdir("/run/sshd"):
            # sshd started as root insists on its privilege separation directory (an empty
            # directory that Debian's init script would have made).
            os.makedirs("/run/sshd", 0o755, exist_ok=True)
        import pwd
        user = pwd.getpwuid(os.getuid()).pw_name
        last_log = ""
        for _attempt in range(3):   # a free port may be taken between the probe and sshd's bind
            port = free_port()
            server = cls(dir=base, port=port, user=user, user_key=os.path.join(base, "user_ed25519"),
                         known_hosts=os.path.join(base, "known_hosts"), host_public_key=host_public_key)
            with open(os.path.join(base, "known_hosts"), "w", encoding="utf-8") as handle:
                handle.write("[%s]:%d %s\n" % (ADDRESS, port, host_public_key))
            config = os.path.join(base, "sshd_config")
            with open(config, "w", encoding="utf-8") as handle:
                handle.write(CONFIG.format(address=ADDRESS, port=port, dir=base))
            log = open(os.path.join(base, "sshd.log"), "ab")  # pylint: disable=consider-using-with
            server.proc = subprocess.Popen([binary, "-D", "-e", "-f", config], stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=log, start_new_session=True)
            log.close()
            if server.wait_listening():
                return server
            server.stop(remove=False)
            last_log = server.log_tail()
        shutil.rmtree(base, ignore_errors=True)
        raise RuntimeError("sshd did not start:\n%s" % last_log)

    def wait_listening(self) -> bool:
        """Poll until sshd answers with its banner (or exits, or START_TIMEOUT passes)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with socket.create_connection((ADDRESS, self.port), timeout=1.0) as sock:
                    if sock.recv(8).startswith(b"SSH-"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(os.path.join(self.dir, "sshd.log"), encoding="utf-8", errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except FileNotFoundError:
            return ""

    def options(self, hosts=None, **extra) -> dict:
        """``provider_options`` for the ssh provider: one host ``box`` on this sshd by default."""
        values = {"hosts": hosts or {"box": self.host()}, "private_key_file": self.user_key,
                  "known_hosts_file": self.known_hosts, "connect_timeout": 5}
        values.update(extra)
        return values

    def host(self, **extra) -> dict:
        return dict({"address": ADDRESS, "port": self.port, "user": self.user}, **extra)

    def stop(self, remove: bool = True) -> None:
        """End the connections (sshd gives each one a session of its own), then the listener."""
        if self.proc is not None and self.proc.poll() is None:
            for pid in children(self.proc.pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)    # the listener and its session children
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)


def children(pid: int) -> list:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(name))
    return found


def close_masters(control_dir: str) -> None:
    """Ask every ssh connection master with a socket in ``control_dir`` to exit."""
    if not os.path.isdir(control_dir):
        return
    for name in os.listdir(control_dir):
        path = os.path.join(control_dir, name)
        if stat_is_socket(path):
            subprocess.run(["ssh", "-o", "ControlPath=%s" % path, "-O", "exit", "appgraph-test"],
                           capture_output=True, timeout=10, check=False, stdin=subprocess.DEVNULL)


def stat_is_socket(path: str) -> bool:
    import stat
    try:
        return stat.S_ISSOCK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return False
