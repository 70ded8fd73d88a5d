#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Lb start: write the started API servers (imports Api_size, Api_0_ip, Api_0_port, ...; none is
# fine, the import is optional) to backends.json, run lb.py in the background, return once it
# answers /health.
# shellcheck disable=SC2154  # port, Db_size, ...: set by the script installer (see svc_require)
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_FILES_DIR APPGRAPH_DATA_DIR port
svc_use_python
"$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/lb.py" write-config --prefix Api --output "$APPGRAPH_DATA_DIR/backends.json" >/dev/null
svc_log "backends: $(cat "$APPGRAPH_DATA_DIR/backends.json")"
svc_start lb "http://$WEBSHOP_HOST:$port/health" -- \
    "$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/lb.py" serve --port "$port" --backends "$APPGRAPH_DATA_DIR/backends.json"
