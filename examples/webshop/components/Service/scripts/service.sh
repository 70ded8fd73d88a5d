# shellcheck shell=bash
# service.sh: what the webshop demo's recipe scripts share (sourced, never run on its own).
#
# Each component's recipes are copied to its own server, so every component carries an identical
# copy of this file in its scripts/ (tests/unit/test_webshop_services.py checks that they match).
# Not a life-cycle script itself: the script installer runs only deploy/start/update/stop/undeploy.sh.
#
# A service is a Python program started in the background; its pid file and log are
# "$APPGRAPH_DATA_DIR/<name>.pid" and "<name>.log". Waits are bounded by a deadline:
# WEBSHOP_START_TIMEOUT (default 30 s) for a service to answer, WEBSHOP_STOP_TIMEOUT (10 s) for it to
# exit on SIGTERM before it gets SIGKILL.

# shellcheck disable=SC2034  # used by the scripts that source this file
WEBSHOP_HOST=127.0.0.1  # every service listens on loopback only
WEBSHOP_START_TIMEOUT=${WEBSHOP_START_TIMEOUT:-30}
WEBSHOP_STOP_TIMEOUT=${WEBSHOP_STOP_TIMEOUT:-10}
WEBSHOP_PY=  # set by svc_use_python

svc_log() {
    printf '%s %s: %s\n' "$(date +%H:%M:%S)" "${APPGRAPH_INSTANCE_PATH:-webshop}" "$*"
}

svc_fail() {
    printf '%s: %s\n' "${APPGRAPH_INSTANCE_PATH:-webshop}" "$*" >&2
    exit 1
}

# svc_require VAR...: fail, naming the variable, unless every one is set and not empty.
svc_require() {
    local name
    for name in "$@"; do
        if [ -z "${!name:-}" ]; then
            svc_fail "the variable $name is not set: this script is run by the appgraph script installer, which sets it"
        fi
    done
}

# svc_use_python: set WEBSHOP_PY to a Python 3.7+ interpreter (the services use the standard library only).
# Called in the script's own shell (not in $(...)), so the lookup happens once per script.
svc_use_python() {
    local found
    [ -z "${WEBSHOP_PY:-}" ] || return 0
    found=$(command -v python3 || command -v python || true)
    [ -n "$found" ] || svc_fail "no python3 on PATH ($PATH): the webshop services need Python 3.7 or later"
    # The interpreter itself, not a wrapper such as a pyenv shim: later calls start faster.
    WEBSHOP_PY=$("$found" -c 'import sys; print(sys.executable if sys.version_info >= (3, 7) else "")' || true)
    [ -n "$WEBSHOP_PY" ] || svc_fail "$found is not a working Python 3.7 or later: the webshop services need one"
}

svc_pid_file() { printf '%s/%s.pid' "$APPGRAPH_DATA_DIR" "$1"; }
svc_log_file() { printf '%s/%s.log' "$APPGRAPH_DATA_DIR" "$1"; }

# svc_now_ms: wall-clock milliseconds (for deadlines).
svc_now_ms() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        local t=${EPOCHREALTIME//[.,]/}
        printf '%s\n' "$(( 10#$t / 1000 ))"
    else
        printf '%s\n' "$(( $(date +%s) * 1000 ))"
    fi
}

# svc_alive PID: the process exists and is not a zombie (an exited child nobody has reaped yet).
svc_alive() {
    local pid=$1 stat
    kill -0 "$pid" 2>/dev/null || return 1
    if [ -r "/proc/$pid/stat" ]; then
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
        stat=${stat##*) }          # after "pid (command) ": the state letter comes first
        [ "${stat%% *}" != Z ] || return 1
    fi
    return 0
}

# svc_running_pid NAME: print the pid of the running service NAME, or return 1.
svc_running_pid() {
    local name=$1 pid_file pid cmdline
    pid_file=$(svc_pid_file "$name")
    [ -f "$pid_file" ] || return 1
    pid=$(cat "$pid_file" 2>/dev/null) || return 1
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    svc_alive "$pid" || return 1
    if [ -r "/proc/$pid/cmdline" ]; then   # a recycled pid is not our service
        cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
        [[ "$cmdline" == *"$name.py"* ]] || return 1
    fi
    printf '%s\n' "$pid"
}

# svc_wait_http URL PID TIMEOUT: wait until URL answers 200; fail early if PID exits.
svc_wait_http() {
    local url=$1 pid=$2 timeout=$3
    svc_use_python
    "$WEBSHOP_PY" - "$url" "$pid" "$timeout" <<'PY'
import os
import sys
import time
import urllib.error
import urllib.request

url, pid, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
deadline = time.monotonic() + timeout
last = "no answer yet"


def alive():
    try:
        os.kill(pid, 0)
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(") ", 1)[1][:1] != "Z"
    except ProcessLookupError:
        return False
    except OSError:  # no /proc: kill(0) said it exists
        return True


while True:
    try:
        with opener.open(url, timeout=1) as response:
            if response.status == 200:
                sys.exit(0)
            last = "HTTP %d" % response.status
    except urllib.error.HTTPError as exc:
        last = "HTTP %d" % exc.code
    except (OSError, ValueError) as exc:
        last = str(getattr(exc, "reason", exc))
    if not alive():
        sys.stderr.write("the service (pid %d) exited before %s answered (%s)\n" % (pid, url, last))
        sys.exit(3)
    if time.monotonic() >= deadline:
        sys.stderr.write("%s did not answer within %g s (%s)\n" % (url, timeout, last))
        sys.exit(2)
    time.sleep(0.05)
PY
}

# svc_wait_gone PID TIMEOUT: wait until PID is gone; return 1 if it is still there at the deadline.
svc_wait_gone() {
    local pid=$1 deadline
    deadline=$(( $(svc_now_ms) + $2 * 1000 ))
    while svc_alive "$pid"; do
        [ "$(svc_now_ms)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# svc_start NAME HEALTH_URL -- COMMAND...: start COMMAND in the background (unless NAME runs
# already) and return once HEALTH_URL answers 200. On failure the service is stopped and the end
# of its log is shown.
svc_start() {
    local name=$1 url=$2 pid_file log_file pid
    shift 2
    if [ "${1:-}" = -- ]; then shift; fi
    pid_file=$(svc_pid_file "$name")
    log_file=$(svc_log_file "$name")
    if pid=$(svc_running_pid "$name"); then
        svc_log "$name is running already (pid $pid)"
    else
        svc_log "starting $name: $*"
        # Same process group as this script: the server's agent stops it with the server.
        "$@" >>"$log_file" 2>&1 </dev/null &
        pid=$!
        printf '%s\n' "$pid" >"$pid_file.tmp"
        mv -f "$pid_file.tmp" "$pid_file"
    fi
    if ! svc_wait_http "$url" "$pid" "$WEBSHOP_START_TIMEOUT"; then
        printf -- '--- last lines of %s ---\n' "$log_file" >&2
        tail -n 20 "$log_file" >&2 || true
        svc_stop "$name" >&2 || true
        svc_fail "$name did not start (pid $pid): see $log_file"
    fi
    svc_log "$name answers on $url (pid $pid)"
}

# svc_stop NAME: SIGTERM the service, wait until it is gone (SIGKILL after the timeout).
svc_stop() {
    local name=$1 pid_file pid
    pid_file=$(svc_pid_file "$name")
    if ! pid=$(svc_running_pid "$name"); then
        rm -f "$pid_file"
        svc_log "$name is not running"
        return 0
    fi
    svc_log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    if ! svc_wait_gone "$pid" "$WEBSHOP_STOP_TIMEOUT"; then
        svc_log "$name did not exit within ${WEBSHOP_STOP_TIMEOUT} s of SIGTERM: sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        svc_wait_gone "$pid" 5 || svc_fail "$name (pid $pid) is still running after SIGKILL"
    fi
    rm -f "$pid_file"
    svc_log "$name stopped"
}

# svc_reload NAME: tell the running service to read its configuration again (SIGHUP).
svc_reload() {
    local name=$1 pid
    pid=$(svc_running_pid "$name") || svc_fail "$name is not running (no live pid in $(svc_pid_file "$name")): cannot reload it; start the instance again"
    kill -HUP "$pid"
    svc_log "$name (pid $pid) told to reload its configuration"
}
