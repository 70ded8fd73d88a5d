# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The webshop demo's services and recipe scripts, run as real processes on loopback.

Part one starts ``kv.py``, two ``api.py`` and ``lb.py`` directly; part two runs the components'
``deploy/start/update/stop/undeploy.sh`` by hand with the variables the script installer sets,
from a copy of the recipes inside a "server" directory whose names contain spaces. Every wait is
a poll against a deadline; every process started here is killed by a fixture finalizer.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ansible_collections.appgraph.lifecycle.tests.helpers.net import LOOPBACK, free_port
from ansible_collections.appgraph.lifecycle.tests.helpers.paths import REPO_ROOT
from ansible_collections.appgraph.lifecycle.tests.helpers.wait import wait_until

WEBSHOP = REPO_ROOT / "examples" / "webshop"
COMPONENTS = WEBSHOP / "components"
# Run from the repository, the services find their shared module (webshop.py, in the Service
# component's recipes that they extend) through PYTHONPATH; on a server it sits beside them.
SHARED = {"PYTHONPATH": str(COMPONENTS / "Service")}
KV = COMPONENTS / "Db" / "kv.py"
API = COMPONENTS / "Api" / "api.py"
LB = COMPONENTS / "Lb" / "lb.py"
SEED_NAMES = ["Teapot", "Espresso cup", "Coffee grinder", "Loose-leaf tea, 250 g"]
DEADLINE = 15.0  # seconds: generous for a loaded CI machine; polls return as soon as they can


# -- helpers -------------------------------------------------------------------------------------

@dataclass
class Response:
    status: int
    headers: dict
    body: object

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def request(port: int, path: str, method: str = "GET", body=None, headers=None, timeout: float = 5.0) -> Response:
    """An HTTP request to 127.0.0.1:port (http.client: no proxy settings apply)."""
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=dict(headers or {}))
        response = conn.getresponse()
        raw = response.read()
        return Response(response.status, {k.lower(): v for k, v in response.getheaders()},
                        json.loads(raw) if raw else None)
    finally:
        conn.close()


def answers(port: int, path: str = "/health") -> bool:
    try:
        return request(port, path, timeout=1.0).status == 200
    except OSError:
        return False


def refuses(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=1.0):
            return False
    except OSError:
        return True


def pid_alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as handle:
            return handle.read().rsplit(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def group_alive(pgid: int) -> bool:
    """Some process of the group is alive (zombies waiting to be reaped do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not os.path.isdir("/proc"):
        return True
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid and pid_alive(int(entry)):
                    return True
            except OSError:
                continue
    return False


def kill_group(pgid: int) -> None:
    """SIGTERM a process group, SIGKILL what is left after a bounded wait."""
    for signum, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, signum)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if not group_alive(pgid):
            return


def slug(name: str) -> str:
    """'/api-vm 1/api' -> 'api-vm_1_api' (a file name)."""
    return name.strip("/").replace("/", "_").replace(" ", "_")


def write_json_atomically(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value), encoding="utf-8")
    os.replace(tmp, path)


# -- part one: the services as plain processes -----------------------------------------------------

@dataclass
class Service:
    name: str
    port: int
    proc: subprocess.Popen
    log: Path

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=DEADLINE)


class Services:
    """Starts the webshop services in ``tmp``; ``close()`` kills whatever is still running."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.started: list[Service] = []

    def spawn(self, name: str, argv: list, port: int) -> Service:
        log = self.tmp / ("%s.log" % slug(name))
        with open(log, "ab") as out:
            proc = subprocess.Popen([sys.executable] + [str(a) for a in argv], stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                    env=dict(os.environ, **SHARED))
        service = Service(name, port, proc, log)
        self.started.append(service)
        wait_until(lambda: proc.poll() is not None or answers(port), DEADLINE,
                   "%s to answer on port %d" % (name, port))
        assert proc.poll() is None, "%s exited with %s:\n%s" % (name, proc.returncode, log.read_text())
        return service

    def kv(self, port: int | None = None, data: Path | None = None, name: str = "kv") -> Service:
        port = port or free_port()
        return self.spawn(name, [KV, "--port", port, "--data", data or self.tmp / "kv-data.json"], port)

    def db_config(self, name: str, *db_ports: int) -> Path:
        path = self.tmp / ("%s-db.json" % name)
        write_json_atomically(path, {"dbs": [{"host": LOOPBACK, "port": p} for p in db_ports]})
        return path

    def api(self, name: str, *db_ports: int) -> Service:
        port = free_port()
        config = self.db_config(slug(name), *db_ports)
        return self.spawn(name, [API, "serve", "--port", port, "--name", name, "--db-config", config], port)

    def backends_file(self, *api_ports: int) -> Path:
        path = self.tmp / "backends.json"
        write_json_atomically(path, {"backends": [{"host": LOOPBACK, "port": p} for p in api_ports]})
        return path

    def lb(self, *api_ports: int) -> Service:
        port = free_port()
        return self.spawn("lb", [LB, "serve", "--port", port, "--backends", self.backends_file(*api_ports)], port)

    def close(self) -> None:
        for service in self.started:
            if service.proc.poll() is None:
                service.proc.kill()
            service.proc.wait(timeout=DEADLINE)


@pytest.fixture
def services(tmp_path):
    started = Services(tmp_path)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture
def shop(services):
    """kv + two API servers + the load balancer over both."""
    kv = services.kv()
    api1 = services.api("/api-vm 1/api", kv.port)
    api2 = services.api("/api-vm 2/api", kv.port)
    lb = services.lb(api1.port, api2.port)
    return {"kv": kv, "api1": api1, "api2": api2, "lb": lb, "services": services}


def test_kv_store_get_put_delete_and_persistence(services, tmp_path):
    kv = services.kv()
    assert request(kv.port, "/kv/cart").status == 404
    assert request(kv.port, "/kv/cart", "PUT", {"items": [1, 2]}).status == 200
    assert request(kv.port, "/kv/cart").body == {"items": [1, 2]}
    assert request(kv.port, "/kv/cart", "PUT", ["other"], {"If-None-Match": "*"}).status == 412
    assert request(kv.port, "/kv/cart").body == {"items": [1, 2]}, "If-None-Match: * must not overwrite"
    assert request(kv.port, "/kv").body == {"keys": ["cart"]}
    conn = http.client.HTTPConnection(LOOPBACK, kv.port, timeout=5)
    conn.request("PUT", "/kv/bad", body=b"{not json")
    assert conn.getresponse().status == 400
    conn.close()

    kv.stop()
    again = services.kv(kv.port, name="kv-again")
    assert request(again.port, "/kv/cart").body == {"items": [1, 2]}, "values survive a restart"
    assert request(again.port, "/kv/cart", "DELETE").status == 200
    assert request(again.port, "/kv/cart").status == 404
    assert json.loads((tmp_path / "kv-data.json").read_text()) == {}


def test_products_come_from_the_db(services):
    kv = services.kv()
    api = services.api("/api-vm 1/api", kv.port)

    first = request(api.port, "/products")
    assert first.status == 200, first.body
    assert [p["name"] for p in first.body["products"]] == SEED_NAMES
    assert first.body["served_by"] == "/api-vm 1/api"
    assert first.header("X-Appgraph-Instance") == "/api-vm 1/api"
    assert request(kv.port, "/kv/products").body == first.body["products"], "the API seeded the db"

    # The API serves what the database holds, not a copy of its own.
    request(kv.port, "/kv/products", "PUT", [{"id": 9, "name": "Kettle", "price": 30}])
    assert request(api.port, "/products").body["products"] == [{"id": 9, "name": "Kettle", "price": 30}]
    who = request(api.port, "/whoami").body
    assert who["instance"] == "/api-vm 1/api" and who["port"] == api.port


def test_two_apis_seed_one_list(services):
    kv = services.kv()
    api1 = services.api("/api-vm 1/api", kv.port)
    api2 = services.api("/api-vm 2/api", kv.port)
    assert request(api1.port, "/products").body["products"] == request(api2.port, "/products").body["products"]
    assert len(request(kv.port, "/kv/products").body) == len(SEED_NAMES)


def test_lb_alternates_between_the_two_apis(shop):
    lb, api1, api2 = shop["lb"], shop["api1"], shop["api2"]
    answers_ = [request(lb.port, "/whoami") for _n in range(4)]
    assert [a.status for a in answers_] == [200] * 4
    names = [a.body["instance"] for a in answers_]
    assert set(names) == {"/api-vm 1/api", "/api-vm 2/api"}, names
    assert names[0] != names[1] and names[0] == names[2] and names[1] == names[3], "round robin: %s" % names
    backends = [a.header("X-Appgraph-Backend") for a in answers_]
    by_port = {"%s:%d" % (LOOPBACK, api1.port): "/api-vm 1/api", "%s:%d" % (LOOPBACK, api2.port): "/api-vm 2/api"}
    assert [by_port[b] for b in backends] == names, "the header names the backend that answered"

    products = request(lb.port, "/products")
    assert products.status == 200 and [p["name"] for p in products.body["products"]] == SEED_NAMES
    health = request(lb.port, "/health").body
    assert health["status"] == "ok" and sorted(health["backends"]) == sorted(by_port)


def test_lb_drops_a_backend_removed_from_its_file(shop):
    lb, api1 = shop["lb"], shop["api1"]
    assert {request(lb.port, "/whoami").body["instance"] for _n in range(2)} == {"/api-vm 1/api", "/api-vm 2/api"}

    # What update.sh does: rewrite the file from the import variables (atomically).
    backends = shop["services"].tmp / "backends.json"
    env = {"PATH": os.environ.get("PATH", ""), "Api_size": "1", "Api_0_ip": LOOPBACK, "Api_0_port": str(api1.port),
           **SHARED}
    subprocess.run([sys.executable, str(LB), "write-config", "--prefix", "Api", "--output", str(backends)],
                   env=env, check=True, capture_output=True, timeout=DEADLINE)
    names = [request(lb.port, "/whoami").body["instance"] for _n in range(4)]
    assert names == ["/api-vm 1/api"] * 4
    assert request(lb.port, "/health").body["backends"] == ["%s:%d" % (LOOPBACK, api1.port)]

    write_json_atomically(backends, {"backends": []})
    empty = request(lb.port, "/whoami")
    assert empty.status == 502 and "no backend" in empty.body["error"]


def test_lb_skips_a_backend_that_is_gone(shop):
    lb = shop["lb"]
    shop["api2"].stop()  # still in the backends file, but refuses connections
    answers_ = [request(lb.port, "/whoami") for _n in range(4)]
    assert [a.status for a in answers_] == [200] * 4
    assert {a.body["instance"] for a in answers_} == {"/api-vm 1/api"}
    shop["api1"].stop()
    none = request(lb.port, "/whoami")
    assert none.status == 502 and len(none.body["tried"]) == 2, none.body


def test_lb_rereads_its_file_on_sighup(shop):
    """An in-place rewrite that keeps inode, size and mtime is only seen after SIGHUP."""
    lb, api1, api2 = shop["lb"], shop["api1"], shop["api2"]
    backends = shop["services"].tmp / "backends.json"
    only_1 = json.dumps({"backends": [{"host": LOOPBACK, "port": api1.port}]})
    only_2 = json.dumps({"backends": [{"host": LOOPBACK, "port": api2.port}]})
    width = max(len(only_1), len(only_2))  # padded to one size: JSON ignores trailing spaces
    tmp = backends.with_name("backends.json.tmp")
    tmp.write_text(only_1.ljust(width), encoding="utf-8")
    os.replace(tmp, backends)
    assert {request(lb.port, "/whoami").body["instance"] for _n in range(2)} == {"/api-vm 1/api"}

    before = os.stat(backends)
    with open(backends, "r+", encoding="utf-8") as handle:  # same inode, same size
        handle.write(only_2.ljust(width))
    os.utime(backends, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(backends)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert request(lb.port, "/whoami").body["instance"] == "/api-vm 1/api", "unchanged stat: not re-read yet"

    lb.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: request(lb.port, "/whoami").body["instance"] == "/api-vm 2/api",
               DEADLINE, "the balancer to use api 2 after SIGHUP")


def test_apis_answer_503_without_the_db_and_recover(shop):
    kv, lb, api1, api2 = shop["kv"], shop["lb"], shop["api1"], shop["api2"]
    before = request(api1.port, "/products").body["products"]

    kv.stop()
    for api in (api1, api2):
        down = request(api.port, "/products")
        assert down.status == 503, down.body
        assert "unreachable" in down.body["error"] and down.body["served_by"] == api.name
        assert down.header("Content-Type") == "application/json"
        assert request(api.port, "/health").status == 200, "the API process itself is fine"
    through_lb = request(lb.port, "/products")
    assert through_lb.status == 503 and "unreachable" in through_lb.body["error"], "the LB passes the 503 on"

    services = shop["services"]
    services.kv(kv.port, name="kv-back")  # the same port and data file: the database is back
    for api in (api1, api2):
        wait_until(lambda a=api: request(a.port, "/products").status == 200, DEADLINE,
                   "%s to recover" % api.name)
        assert request(api.port, "/products").body["products"] == before


def test_api_follows_a_new_db_address(services):
    """What update.sh does for an API server: rewrite db.json; the server follows without a restart."""
    old_db = services.kv(name="kv-old")
    api = services.api("/api-vm 1/api", old_db.port)
    request(old_db.port, "/kv/products", "PUT", [{"id": 1, "name": "Old", "price": 1}])
    assert request(api.port, "/products").body["products"][0]["name"] == "Old"

    new_db = services.kv(data=services.tmp / "new-data.json", name="kv-new")
    config = services.db_config("api-vm_1_api", new_db.port)
    api.proc.send_signal(signal.SIGHUP)  # update.sh does both: new file and SIGHUP
    wait_until(lambda: [p["name"] for p in request(api.port, "/products").body["products"]] == SEED_NAMES,
               DEADLINE, "the API to use (and seed) the new database")
    assert json.loads(config.read_text())["dbs"][0]["port"] == new_db.port
    assert api.proc.poll() is None, "no restart"


def test_write_config_needs_both_variables(tmp_path):
    env = {"PATH": os.environ.get("PATH", ""), "Db_size": "1", "Db_0_ip": LOOPBACK, **SHARED}
    run = subprocess.run([sys.executable, str(API), "write-config", "--prefix", "Db", "--output",
                          str(tmp_path / "db.json")], env=env, capture_output=True, text=True, timeout=DEADLINE,
                         check=False)
    assert run.returncode != 0 and "Db_0_port" in run.stderr
    assert not (tmp_path / "db.json").exists()


# -- part two: the recipe scripts, run as the script installer runs them ------------------------------

class Server:
    """A stand-in for a local server: a sandbox with a copy of each component's recipes."""

    def __init__(self, root: Path, name: str):
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.groups: list[int] = []  # process groups of the start/update scripts (their services)

    def install(self, component: str, instance_path: str) -> "Recipe":
        files = self.dir / "files" / slug(instance_path)
        # As the script installer does: the shared Service recipes, then the component's own.
        shutil.copytree(COMPONENTS / "Service", files)
        shutil.copytree(COMPONENTS / component, files, dirs_exist_ok=True)
        data = self.dir / "data" / slug(instance_path)
        data.mkdir(parents=True)
        return Recipe(self, component, instance_path, files, data)


@dataclass
class Recipe:
    server: Server
    component: str
    path: str
    files: Path
    data: Path

    def env(self, operation: str, exports: dict, imports: dict | None = None) -> dict:
        env = {
            # The agent's clean environment: PATH (this Python first, as under .ci/), HOME = sandbox.
            "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "/usr/bin:/bin")]),
            "HOME": str(self.server.dir),
            "APPGRAPH_OPERATION": operation,
            "APPGRAPH_APPLICATION": "webshop",
            "APPGRAPH_INSTANCE_PATH": self.path,
            "APPGRAPH_INSTANCE_NAME": self.path.rsplit("/", 1)[-1],
            "APPGRAPH_COMPONENT": self.component,
            "APPGRAPH_FILES_DIR": str(self.files),
            "APPGRAPH_DATA_DIR": str(self.data),
            "ROBOCONF_INSTANCE_NAME": self.path.rsplit("/", 1)[-1],
            "ROBOCONF_INSTANCE_PATH": self.path,
            "ROBOCONF_FILES_DIR": str(self.files),
            "ANCESTOR_VM_ip": LOOPBACK,
        }
        env.update({k: str(v) for k, v in exports.items()})
        for prefix, exporters in (imports or {}).items():
            env["%s_size" % prefix] = str(len(exporters))
            for i, values in enumerate(exporters):
                env.update({"%s_%d_%s" % (prefix, i, k): str(v) for k, v in values.items()})
        return env

    def run(self, operation: str, exports: dict, imports: dict | None = None) -> subprocess.CompletedProcess:
        script = self.files / "scripts" / ("%s.sh" % operation)
        if not script.exists():  # the installer's rule: a missing script is a no-op
            return subprocess.CompletedProcess([operation], 0, "", "")
        proc = subprocess.Popen(["bash", str(script)], cwd=self.server.dir, env=self.env(operation, exports, imports),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        self.server.groups.append(proc.pid)  # its background service stays in this group
        try:
            # Returns only when stdout/stderr close: a service holding them would hang here.
            out, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            proc.communicate()
            raise AssertionError("%s %s.sh did not return" % (self.path, operation)) from None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def ok(self, operation: str, exports: dict, imports: dict | None = None) -> str:
        done = self.run(operation, exports, imports)
        assert done.returncode == 0, "%s %s.sh failed (%d):\n%s\n%s" % (
            self.path, operation, done.returncode, done.stdout, done.stderr)
        return done.stdout

    def pid(self, service: str) -> int:
        return int((self.data / ("%s.pid" % service)).read_text())


@pytest.fixture
def servers(tmp_path):
    made: list[Server] = []

    def make(name: str) -> Server:
        made.append(Server(tmp_path / "local servers", name))
        return made[-1]

    try:
        yield make
    finally:
        for server in made:
            for pgid in server.groups:
                kill_group(pgid)


def exports_for(port: int) -> dict:
    return {"ip": LOOPBACK, "port": port}


def test_db_recipe_scripts_deploy_start_stop_undeploy(servers):
    db = servers("db-vm").install("Db", "/db-vm/db")
    port = free_port()
    exports = exports_for(port)

    assert "deployed" in db.ok("deploy", exports)
    assert refuses(port), "deploy does not start anything"
    out = db.ok("start", exports)
    assert "answers on" in out
    assert answers(port), "start.sh returned once kv.py answers"
    pid = db.pid("kv")
    assert pid_alive(pid)
    assert request(port, "/kv/x", "PUT", {"v": 1}).status == 200

    again = db.ok("start", exports)
    assert "running already" in again and db.pid("kv") == pid, "start twice: one process"

    assert "kv stopped" in db.ok("stop", exports)
    assert not pid_alive(pid), "stop.sh waited until the process was gone"
    assert refuses(port)
    assert not (db.data / "kv.pid").exists()
    assert "not running" in db.ok("stop", exports), "stop twice is fine"

    db.ok("start", exports)
    assert request(port, "/kv/x").body == {"v": 1}, "data kept in APPGRAPH_DATA_DIR across stop/start"
    assert "kv.log" in os.listdir(db.data), "logs go to APPGRAPH_DATA_DIR"
    db.ok("stop", exports)
    db.ok("undeploy", exports)
    assert not (db.data / "kv-data.json").exists()


def test_db_start_fails_clearly_when_its_port_is_taken(servers):
    db = servers("db-vm").install("Db", "/db-vm/db")
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        exports = exports_for(taken.getsockname()[1])
        db.ok("deploy", exports)
        done = db.run("start", exports)
    assert done.returncode != 0
    assert "did not start" in done.stderr and "Address already in use" in done.stderr, done.stderr
    assert not (db.data / "kv.pid").exists(), "a failed start leaves no pid file"


def test_scripts_name_a_missing_variable(servers):
    api = servers("api-vm 1").install("Api", "/api-vm 1/api")
    done = api.run("start", exports_for(free_port()))  # no Db_* imports
    assert done.returncode != 0 and "Db_size" in done.stderr, done.stderr


@pytest.mark.slow
def test_whole_shop_through_its_recipe_scripts(servers):
    """Deploy and start all four instances with their scripts, then break and heal the database."""
    ports = {name: free_port() for name in ("db", "api1", "api2", "lb")}
    db = servers("db-vm").install("Db", "/db-vm/db")
    apis = [servers("api-vm %d" % i).install("Api", "/api-vm %d/api" % i) for i in (1, 2)]
    lb = servers("lb-vm").install("Lb", "/lb-vm/lb")
    db_imports = {"Db": [exports_for(ports["db"])]}
    api_exports = [exports_for(ports["api1"]), exports_for(ports["api2"])]

    db.ok("deploy", exports_for(ports["db"]))
    db.ok("start", exports_for(ports["db"]))
    for api, exports in zip(apis, api_exports):
        api.ok("deploy", exports, db_imports)
        api.ok("start", exports, db_imports)
    # The Lb's import is optional: it may start before any API server, and learns of them by update.
    lb.ok("deploy", exports_for(ports["lb"]))
    lb.ok("start", exports_for(ports["lb"]), {"Api": []})
    assert request(ports["lb"], "/products").status == 502
    assert "backends now" in lb.ok("update", exports_for(ports["lb"]), {"Api": api_exports})

    served = [request(ports["lb"], "/products") for _n in range(2)]
    assert [s.status for s in served] == [200, 200]
    assert {s.body["served_by"] for s in served} == {"/api-vm 1/api", "/api-vm 2/api"}

    # The database stops: the engine stops the APIs (unresolved) and updates the Lb.
    db.ok("stop", exports_for(ports["db"]))
    assert request(ports["lb"], "/products").status == 503
    for api, exports in zip(apis, api_exports):
        api.ok("stop", exports, db_imports)
    lb.ok("update", exports_for(ports["lb"]), {"Api": []})
    broken = request(ports["lb"], "/products")
    assert broken.status == 502 and "no backend" in broken.body["error"]

    # And comes back: the APIs start again, the Lb is updated, the data is still there.
    db.ok("start", exports_for(ports["db"]))
    for api, exports in zip(apis, api_exports):
        api.ok("start", exports, db_imports)
    lb.ok("update", exports_for(ports["lb"]), {"Api": api_exports})
    healed = [request(ports["lb"], "/products") for _n in range(2)]
    assert [h.status for h in healed] == [200, 200]
    assert {h.body["served_by"] for h in healed} == {"/api-vm 1/api", "/api-vm 2/api"}
    assert [p["name"] for p in healed[0].body["products"]] == SEED_NAMES

    # An API's update (a new database address) needs no restart.
    pid = apis[0].pid("api")
    apis[0].ok("update", api_exports[0], db_imports)
    assert apis[0].pid("api") == pid and request(ports["api1"], "/products").status == 200

    for recipe, exports in [(lb, exports_for(ports["lb"]))] + list(zip(apis, api_exports)) + [
            (db, exports_for(ports["db"]))]:
        recipe.ok("stop", exports)
        recipe.ok("undeploy", exports)
    assert all(refuses(p) for p in ports.values())


def test_update_fails_when_the_service_is_not_running(servers):
    lb = servers("lb-vm").install("Lb", "/lb-vm/lb")
    lb.ok("deploy", exports_for(free_port()))
    done = lb.run("update", exports_for(free_port()), {"Api": []})
    assert done.returncode != 0 and "lb is not running" in done.stderr, done.stderr


# -- the files themselves -------------------------------------------------------------------------

def test_the_services_share_service_sh_through_extends():
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.script import recipe_files

    app = load_application(str(WEBSHOP / "webshop.app.yml"))
    assert sorted(COMPONENTS.glob("*/scripts/service.sh")) == [COMPONENTS / "Service" / "scripts" / "service.sh"]
    for name in ("Db", "Api", "Lb"):
        comp = app.components[name]
        assert comp.installer == "script" and comp.ancestors == ("Service",)
        assert os.path.join("scripts", "service.sh") in recipe_files(comp.recipe_dirs)


def test_scripts_are_strict_bash():
    for script in sorted(COMPONENTS.glob("*/scripts/*.sh")):
        text = script.read_text(encoding="utf-8")
        if script.name != "service.sh":
            assert text.startswith("#!/usr/bin/env bash\n"), script
            assert "\nset -euo pipefail\n" in text, script
        run = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, timeout=DEADLINE, check=False)
        assert run.returncode == 0, "%s: %s" % (script, run.stderr)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_scripts_pass_shellcheck():
    scripts = [str(p) for p in sorted(COMPONENTS.glob("*/scripts/*.sh"))]
    # The services source service.sh, which they inherit from the Service component (merged at deploy).
    run = subprocess.run(["shellcheck", "-x", "-P", "SCRIPTDIR:SCRIPTDIR/../../Service/scripts"] + scripts,
                         capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_application_file_loads_and_points_at_the_recipes():
    from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.loader import load_application

    app = load_application(str(WEBSHOP / "webshop.app.yml"))
    assert app.name == "webshop"
    assert sorted(app.instances) == sorted([
        "/db-vm", "/db-vm/db", "/api-vm 1", "/api-vm 1/api", "/api-vm 2", "/api-vm 2/api", "/lb-vm", "/lb-vm/lb"])
    for component in ("Db", "Api", "Lb"):
        comp = app.components[component]
        assert comp.recipes == str(COMPONENTS / component)
        assert (Path(comp.recipes) / "scripts" / "start.sh").is_file()
        assert (Path(comp.recipes) / "scripts" / "stop.sh").is_file()
    assert app.importers == {"Db": ["/api-vm 1/api", "/api-vm 2/api"], "Api": ["/lb-vm/lb"]}
    lb_import = app.components["Lb"].imports[0]
    assert lb_import.prefix == "Api" and lb_import.optional, "the balancer outlives its API servers"
    assert [i.variable for i in app.components["Api"].imports] == ["ip", "port"]
