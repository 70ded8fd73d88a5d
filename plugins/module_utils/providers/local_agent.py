# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent of a ``local`` server: what makes a sandbox directory behave like a machine.

Run as ``python -I -S local_agent.py <sandbox> <heartbeat_interval> <start_delay>`` by the local
provider, in a session of its own, with stdout/stderr going to ``<sandbox>/agent.log``. It:

- holds ``<sandbox>/agent.lock`` for its whole life, so a sandbox never has two agents;
- listens on 127.0.0.1 (a free port) and writes ``agent.json`` (pid, port, secret token; 0600);
- answers ``GET /health`` (503 during the first ``start_delay`` seconds, to emulate a slow cloud,
  then 200), ``POST /exec``, ``POST /put``, ``POST /fetch`` and ``POST /shutdown`` (all four need
  ``Authorization: Bearer <token>``);
- touches ``<sandbox>/heartbeat`` every ``heartbeat_interval`` seconds;
- exits by itself when its sandbox directory disappears.

``/exec`` takes JSON ``{argv, env, cwd, timeout}`` and returns ``{rc, stdout, stderr, timed_out}``
(the last 64 KiB of each stream, and their sizes as ``stdout_bytes``/``stderr_bytes``). Optional:
``stdin`` (base64: the command's standard input, else /dev/null), ``output_limit`` (bytes of each
stream to return, up to 32 MiB) and ``encoding: base64`` (the streams as base64, byte for byte).
The command is a child of the agent in a process group of its own; processes it leaves in the
background keep running until the agent shuts down, which terminates every process group it
spawned.

``/put`` takes ``{path, data (base64), offset}`` and writes the bytes at ``offset`` (0 creates or
truncates the file, mode 0600; a symbolic link as the last component is refused); ``/fetch``
takes ``{path, offset, length}`` and returns ``{data (base64), size}``. Paths are relative to the
sandbox, and no path (symbolic links resolved) may lead out of it; at most 2 MiB per call.

Standalone on purpose: the provider copies this file next to the sandboxes and runs the copy, so
the agent outlives the controller's temporary files. It imports nothing from the collection, and
only what it needs from the standard library: a thousand of these run at once, so every imported
module costs a thousand times (``http.server`` alone would double the memory; hence the small
HTTP reader below).
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

try:  # What hmac.compare_digest is; importing hmac itself would load OpenSSL (about 4 MB).
    from _operator import _compare_digest as same_secret
except ImportError:  # pragma: no cover - not CPython
    def same_secret(a, b):
        return len(a) == len(b) and sum(x ^ y for x, y in zip(a, b)) == 0

TAIL_BYTES = 64 * 1024
MAX_BODY = 4 * 1024 * 1024
MAX_OUTPUT = 32 * 1024 * 1024  # the most of one stream /exec returns when asked for more than the tail
FILE_CHUNK = 2 * 1024 * 1024   # the most bytes one /put or /fetch moves
MAX_HEADER_LINES = 64
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL for a process group
DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
PR_SET_CHILD_SUBREAPER = 36


class BadRequest(Exception):
    """The request cannot be served as sent (answered with 400)."""


def log(message):
    sys.stderr.write("%s agent[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
    sys.stderr.flush()


def atomic_write(path, data, mode=0o600):
    """Write ``data`` (bytes) so that readers see the old file or the new one, never half of one."""
    tmp = "%s.tmp-%d-%d" % (path, os.getpid(), threading.get_ident())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def become_subreaper():
    """Adopt orphaned descendants, so the background processes of a command are reaped here.

    Without it they are reparented to PID 1, which in many containers never reaps: a zombie still
    "exists" for kill(), and the agent could not tell that a process group is gone.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes  # only here: half a megabyte that other systems do not need

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (ImportError, OSError, AttributeError) as exc:
        log("cannot become a subreaper: %s" % exc)


class Children:
    """The processes the agent spawned: one reaper thread collects every exit status.

    A single ``waitpid(-1)`` loop (rather than ``Popen.wait`` per command) is needed because, as a
    subreaper, the agent also inherits orphans that no ``Popen`` knows about.
    """

    def __init__(self):
        self.cond = threading.Condition()
        self.waiting = {}  # pid -> exit code, None while running (only commands we wait for)
        self.groups = set()  # every process group spawned and maybe still alive
        self.spawned = threading.Event()

    def spawn(self, argv, **kwargs):
        with self.cond:  # the reaper must not see the pid before it is registered
            proc = subprocess.Popen(argv, process_group=0, **kwargs)
            self.waiting[proc.pid] = None
            self.groups = {g for g in self.groups if group_alive(g)} | {proc.pid}
        self.spawned.set()
        return proc

    def reap_forever(self):
        while True:
            try:
                pid, status = os.waitpid(-1, 0)
            except ChildProcessError:
                self.spawned.wait()
                self.spawned.clear()
                continue
            with self.cond:
                if pid in self.waiting:
                    self.waiting[pid] = os.waitstatus_to_exitcode(status)
                    self.cond.notify_all()

    def wait(self, proc, timeout):
        """Exit code of ``proc`` and whether it timed out (its group is then killed)."""
        timed_out = not self._wait_for(proc.pid, timeout)
        if timed_out:
            signal_group(proc.pid, signal.SIGTERM)
            if not self._wait_for(proc.pid, KILL_GRACE):
                signal_group(proc.pid, signal.SIGKILL)
                self._wait_for(proc.pid, None)
        with self.cond:
            code = self.waiting.pop(proc.pid)
        proc.returncode = code  # else Popen.__del__ would queue the pid for a later waitpid
        return code, timed_out

    def _wait_for(self, pid, timeout):
        with self.cond:
            return self.cond.wait_for(lambda: self.waiting[pid] is not None, timeout)

    def terminate_all(self):
        """SIGTERM every live group, SIGKILL what is left after the grace period."""
        with self.cond:
            groups = {g for g in self.groups if group_alive(g)}
        for group in groups:
            signal_group(group, signal.SIGTERM)
        deadline = time.monotonic() + KILL_GRACE
        while groups and time.monotonic() < deadline:
            time.sleep(0.02)
            groups = {g for g in groups if group_alive(g)}
        for group in groups:
            signal_group(group, signal.SIGKILL)
        return len(groups)


def group_alive(group):
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(group, signum):
    try:
        os.killpg(group, signum)
    except (ProcessLookupError, PermissionError):
        pass


class Agent:
    """One sandbox's agent. All its state lives here (no globals)."""

    def __init__(self, sandbox, heartbeat_interval, start_delay):
        self.sandbox = os.path.realpath(sandbox)
        self.name = os.path.basename(self.sandbox)
        self.heartbeat_interval = heartbeat_interval
        self.ready_at = time.monotonic() + start_delay
        self.ready = start_delay <= 0
        self.token = os.urandom(24).hex()
        self.stopping = threading.Event()
        self.children = Children()
        self.sandbox_id = None
        self.listener = None
        self.wake_r = self.wake_w = None
        self.signalled = 0
        self.scratch_counter = 0
        self.scratch_lock = threading.Lock()

    # -- life cycle ------------------------------------------------------------------------------

    def run(self):
        os.chdir(self.sandbox)
        stat = os.stat(self.sandbox)
        self.sandbox_id = (stat.st_dev, stat.st_ino)
        if self.take_lock() is None:
            log("another agent holds %s/agent.lock: exiting" % self.sandbox)
            return 3
        become_subreaper()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.catch_signals()
        self.touch_heartbeat()
        self.write_agent_json()
        start_thread(self.children.reap_forever)
        start_thread(self.accept_forever)
        log("serving %s on 127.0.0.1:%d" % (self.name, self.listener.getsockname()[1]))
        reason = "crashed"
        try:
            reason = self.watch()
        finally:
            log("shutting down: %s" % reason)
            self.stopping.set()
            self.listener.close()
            left = self.children.terminate_all()
            log("stopped%s" % (" (%d process groups killed)" % left if left else ""))
        return 0

    def catch_signals(self):
        """SIGTERM/SIGINT/SIGHUP wake the main loop through a socket.

        The handler itself only records the signal: setting a ``threading.Event`` from a handler
        can deadlock on the lock that the interrupted main thread holds inside ``Event.wait``.
        """
        self.wake_r, self.wake_w = socket.socketpair()
        for sock in (self.wake_r, self.wake_w):
            sock.setblocking(False)
        signal.set_wakeup_fd(self.wake_w.fileno())
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self.on_signal)

    def on_signal(self, signum, _frame):
        self.signalled = signum

    def request_stop(self):
        """Called by a request thread: stop, and wake the main loop now rather than at its next tick."""
        self.stopping.set()
        try:
            self.wake_w.send(b"s")
        except OSError:
            pass  # the wake-up socket is full: the main loop is being woken anyway

    def take_lock(self):
        import fcntl  # a small C module; the agent is POSIX-only anyway

        fd = os.open(os.path.join(self.sandbox, "agent.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return None
        return fd

    def watch(self):
        """Main loop: heartbeats, readiness, and the sandbox's existence. Returns why it ended."""
        tick = min(self.heartbeat_interval, 1.0)
        next_beat = time.monotonic() + self.heartbeat_interval
        while True:
            wait = tick if self.ready else max(0.0, min(tick, self.ready_at - time.monotonic()))
            if select.select([self.wake_r], [], [], wait)[0]:
                drain(self.wake_r)
            if self.signalled:
                return "signal %d" % self.signalled
            if self.stopping.is_set():
                return "asked to stop"
            if not self.sandbox_present():
                return "sandbox %s is gone" % self.sandbox
            now = time.monotonic()
            if not self.ready and now >= self.ready_at:
                self.ready = True
                self.write_agent_json()
            if now >= next_beat:
                next_beat = now + self.heartbeat_interval
                self.touch_heartbeat()

    def sandbox_present(self):
        try:
            stat = os.stat(self.sandbox)
        except OSError:
            return False
        return (stat.st_dev, stat.st_ino) == self.sandbox_id  # not a new directory of the same name

    def touch_heartbeat(self):
        path = os.path.join(self.sandbox, "heartbeat")
        try:
            try:
                os.utime(path)
            except FileNotFoundError:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
        except OSError as exc:  # the sandbox is going away: the main loop notices on its next tick
            log("heartbeat: %s" % exc)

    def write_agent_json(self):
        info = {"pid": os.getpid(), "port": self.listener.getsockname()[1], "token": self.token,
                "ready": self.ready, "started_at": time.time()}
        try:
            atomic_write(os.path.join(self.sandbox, "agent.json"), json.dumps(info).encode())
        except OSError as exc:
            log("agent.json: %s" % exc)

    # -- HTTP ----------------------------------------------------------------------------------

    def accept_forever(self):
        while not self.stopping.is_set():
            try:
                conn = self.listener.accept()[0]
            except OSError:
                return  # the listener was closed: shutting down
            start_thread(self.serve, conn)

    def serve(self, conn):
        with conn:
            try:
                conn.settimeout(30)
                request = read_request(conn.makefile("rb"))
            except BadRequest as exc:
                send_response(conn, 400, {"error": str(exc)})
                return
            except OSError:
                return  # the client went away
            try:
                status, payload = self.route(*request)
            except BadRequest as exc:
                status, payload = 400, {"error": str(exc)}
            except Exception as exc:  # pylint: disable=broad-except  # answer, log, keep serving
                log("%s %s failed: %r" % (request[0], request[1], exc))
                status, payload = 500, {"error": "%s: %s" % (type(exc).__name__, exc)}
            send_response(conn, status, payload)

    def route(self, method, path, headers, body):
        if (method, path) == ("GET", "/health"):
            return self.health()
        if method != "POST" or path not in ("/exec", "/put", "/fetch", "/shutdown"):
            return 404, {"error": "no route %s %s" % (method, path)}
        if not same_secret(headers.get("authorization", "").encode(), ("Bearer " + self.token).encode()):
            return 401, {"error": "missing or wrong token"}
        if path == "/shutdown":
            self.request_stop()
            return 202, {"status": "stopping"}
        if self.stopping.is_set() or not self.ready:
            return 503, self.health()[1]
        if path == "/put":
            return 200, self.put(*parse_file_request(body, "data"))
        if path == "/fetch":
            return self.fetch(*parse_file_request(body, "length"))
        return 200, self.run_command(parse_exec(body))

    def health(self):
        status = "stopping" if self.stopping.is_set() else ("ok" if self.ready else "starting")
        return (200 if status == "ok" else 503), {"status": status, "name": self.name, "pid": os.getpid()}

    # -- commands ------------------------------------------------------------------------------

    def run_command(self, request):
        argv, env, cwd, timeout, stdin, limit, encoding = request
        cwd = self.resolve_cwd(cwd)
        out_fd, err_fd = self.scratch_fd(), self.scratch_fd()
        in_fd = None
        try:
            if stdin is not None:   # a file too: the command reads it at its own pace
                in_fd = self.scratch_fd()
                os.write(in_fd, stdin)
                os.lseek(in_fd, 0, os.SEEK_SET)
            try:
                proc = self.children.spawn(argv, stdin=subprocess.DEVNULL if in_fd is None else in_fd,
                                           stdout=out_fd, stderr=err_fd, cwd=cwd, env=self.command_env(env),
                                           close_fds=True)
            except OSError as exc:  # what a shell says for a missing or non-executable program
                rc = 127 if isinstance(exc, FileNotFoundError) else 126
                message = ("%s: %s\n" % (argv[0], exc.strerror)).encode()
                return {"rc": rc, "stdout": encode(b"", encoding), "stderr": encode(message, encoding),
                        "stdout_bytes": 0, "stderr_bytes": len(message), "timed_out": False}
            rc, timed_out = self.children.wait(proc, timeout)
            return {"rc": rc, "stdout": encode(tail(out_fd, limit), encoding),
                    "stderr": encode(tail(err_fd, limit), encoding), "stdout_bytes": os.fstat(out_fd).st_size,
                    "stderr_bytes": os.fstat(err_fd).st_size, "timed_out": timed_out}
        finally:
            for fd in (out_fd, err_fd, in_fd):
                if fd is not None:
                    os.close(fd)

    # -- files -----------------------------------------------------------------------------------

    def put(self, path, data, offset):
        target = self.resolve_path(path, writing=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | (os.O_TRUNC if offset == 0 else 0)
        try:
            fd = os.open(target, flags, 0o600)
        except OSError as exc:
            raise BadRequest("cannot write %r: %s" % (path, exc.strerror)) from None
        try:
            os.pwrite(fd, data, offset)
            return {"size": os.fstat(fd).st_size}
        finally:
            os.close(fd)

    def fetch(self, path, offset, length):
        target = self.resolve_path(path, writing=False)
        try:
            fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return 404, {"error": "no file %r in the sandbox" % path}
        except OSError as exc:
            raise BadRequest("cannot read %r: %s" % (path, exc.strerror)) from None
        try:
            info = os.fstat(fd)
            if not stat_is_file(info.st_mode):
                raise BadRequest("%r is not a regular file" % path)
            return 200, {"data": encode(os.pread(fd, length, offset), "base64"), "size": info.st_size}
        finally:
            os.close(fd)

    def resolve_path(self, path, writing):
        """``path`` (relative to the sandbox, or absolute) if it stays in the sandbox. For writing,
        the folder is resolved and the last component is opened without following a link."""
        full = os.path.join(self.sandbox, path)
        if writing:
            folder, name = os.path.split(full)
            if not name:
                raise BadRequest("path %r names no file" % path)
            target = os.path.join(os.path.realpath(folder), name)
            where = os.path.dirname(target)
        else:
            target = where = os.path.realpath(full)
        if os.path.commonpath([where, self.sandbox]) != self.sandbox:
            raise BadRequest("path %r is outside the sandbox %s" % (path, self.sandbox))
        return target

    def resolve_cwd(self, cwd):
        path = os.path.realpath(os.path.join(self.sandbox, cwd or "."))
        if os.path.commonpath([path, self.sandbox]) != self.sandbox:
            raise BadRequest("cwd %r is outside the sandbox %s" % (cwd, self.sandbox))
        if not os.path.isdir(path):
            raise BadRequest("cwd %r is not a directory in the sandbox" % cwd)
        return path

    def command_env(self, extra):
        # A clean environment, as a login on a fresh machine: the controller's variables
        # (credentials among them) do not leak into servers.
        env = {"PATH": os.environ.get("PATH", DEFAULT_PATH), "HOME": self.sandbox}
        for key in ("LANG", "LC_ALL", "TZ"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update(extra)
        env.update({"APPGRAPH_SERVER": self.name, "APPGRAPH_SANDBOX": self.sandbox})
        return env

    def scratch_fd(self):
        """An anonymous file for a command's output: unlinked at once, so nothing is left behind,
        and a file rather than a pipe, so a background process that keeps the descriptor open does
        not hold up the answer."""
        with self.scratch_lock:
            self.scratch_counter += 1
            path = os.path.join(self.sandbox, ".exec-%d.out" % self.scratch_counter)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        os.unlink(path)
        return fd


def drain(sock):
    try:
        while sock.recv(64):
            pass
    except OSError:
        pass  # nothing more to read (non-blocking)


def tail(fd, limit=TAIL_BYTES):
    """The last ``limit`` bytes of the file ``fd``."""
    size = os.fstat(fd).st_size
    return os.pread(fd, limit, max(0, size - limit))


def encode(data, encoding):
    """Bytes for a JSON answer: text (invalid UTF-8 replaced), or base64 (exact)."""
    if encoding == "base64":
        import binascii  # a small C module, loaded only by agents that are asked for bytes
        return binascii.b2a_base64(data, newline=False).decode("ascii")
    return data.decode("utf-8", "replace")


def decode_base64(text, what):
    import binascii
    if not isinstance(text, str):
        raise BadRequest("%s must be base64 text" % what)
    try:
        return binascii.a2b_base64(text.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        raise BadRequest("%s is not valid base64" % what) from None


def stat_is_file(mode):
    return (mode & 0o170000) == 0o100000


def read_request(stream):
    """Method, path, lower-cased headers and body of one HTTP/1.x request."""
    request_line = stream.readline(8192).decode("latin-1").split()
    if len(request_line) != 3:
        raise BadRequest("malformed request line")
    headers = {}
    for _line_number in range(MAX_HEADER_LINES):
        line = stream.readline(8192).decode("latin-1")
        if line in ("\r\n", "\n", ""):
            break
        key, _colon, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    else:
        raise BadRequest("too many headers")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise BadRequest("bad Content-Length") from None
    if not 0 <= length <= MAX_BODY:
        raise BadRequest("body larger than %d bytes" % MAX_BODY)
    body = stream.read(length) if length else b""
    return request_line[0], request_line[1], headers, body


def parse_json(body):
    try:
        request = json.loads(body or b"{}")
    except ValueError as exc:
        raise BadRequest("body is not JSON: %s" % exc) from None
    if not isinstance(request, dict):
        raise BadRequest("body must be a JSON object")
    return request


def is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def parse_exec(body):
    """``(argv, env, cwd, timeout, stdin, output_limit, encoding)`` from an /exec body, checked:
    argv is a list, never a string."""
    request = parse_json(body)
    argv, env = request.get("argv"), request.get("env") or {}
    cwd, timeout = request.get("cwd"), request.get("timeout")
    if not (isinstance(argv, list) and argv and all(isinstance(a, str) for a in argv)):
        raise BadRequest("argv must be a non-empty list of strings")
    if not (isinstance(env, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise BadRequest("env must map strings to strings")
    if cwd is not None and not isinstance(cwd, str):
        raise BadRequest("cwd must be a string")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise BadRequest("timeout must be a positive number of seconds")
    stdin = request.get("stdin")
    if stdin is not None:
        stdin = decode_base64(stdin, "stdin")
    limit = request.get("output_limit", TAIL_BYTES)
    if not (is_count(limit) and 0 < limit <= MAX_OUTPUT):
        raise BadRequest("output_limit must be a number of bytes from 1 to %d" % MAX_OUTPUT)
    encoding = request.get("encoding", "text")
    if encoding not in ("text", "base64"):
        raise BadRequest("encoding must be text or base64")
    return argv, env, cwd, timeout, stdin, limit, encoding


def parse_file_request(body, what):
    """``(path, data, offset)`` of a /put body (``what`` = data) or ``(path, offset, length)`` of
    a /fetch body (``what`` = length)."""
    request = parse_json(body)
    path, offset = request.get("path"), request.get("offset", 0)
    if not (isinstance(path, str) and path and "\0" not in path):
        raise BadRequest("path must be a non-empty string")
    if not is_count(offset):
        raise BadRequest("offset must be a number of bytes")
    if what == "data":
        data = decode_base64(request.get("data"), "data")
        if len(data) > FILE_CHUNK:
            raise BadRequest("at most %d bytes per /put" % FILE_CHUNK)
        return path, data, offset
    length = request.get("length", FILE_CHUNK)
    if not (is_count(length) and 0 < length <= FILE_CHUNK):
        raise BadRequest("length must be a number of bytes from 1 to %d" % FILE_CHUNK)
    return path, offset, length


def send_response(conn, status, payload):
    body = json.dumps(payload).encode()
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % (status, REASONS.get(status, "Status"), len(body)))
    try:
        conn.sendall(head.encode("latin-1") + body)
    except OSError:
        pass  # the client gave up waiting (its own timeout): nothing to tell it


REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           500: "Internal Server Error", 503: "Service Unavailable"}


def start_thread(target, *args):
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


def close_inherited_fds():
    """Close every descriptor above stderr that the launcher let through.

    The launcher (``posix_spawn``) cannot close them, and one end of a pipe held here would keep
    whoever reads the other end (Ansible, waiting for a module's output) waiting as long as the
    agent lives.
    """
    try:
        fds = [int(fd) for fd in os.listdir("/proc/self/fd")]
    except OSError:
        fds = range(3, min(os.sysconf("SC_OPEN_MAX"), 4096))
    for fd in fds:
        if fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass  # the listdir's own descriptor, already closed


def main(argv):
    close_inherited_fds()
    if len(argv) != 3:
        sys.stderr.write("usage: local_agent.py SANDBOX HEARTBEAT_INTERVAL START_DELAY\n")
        return 2
    sandbox, heartbeat_interval, start_delay = argv[0], float(argv[1]), float(argv[2])
    return Agent(sandbox, heartbeat_interval, start_delay).run()


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # os._exit: daemon threads may sit in accept()/waitpid(); interpreter teardown gains nothing here.
    sys.stderr.flush()
    os._exit(code)
