#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Api start: write the database address (imports Db_0_ip, Db_0_port, ...) to db.json, run api.py
# in the background, return once it answers /health.
# shellcheck disable=SC2154  # port, Db_size, ...: set by the script installer (see svc_require)
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_FILES_DIR APPGRAPH_DATA_DIR APPGRAPH_INSTANCE_PATH port Db_size
[ "$Db_size" -ge 1 ] || svc_fail "no database to use (Db_size=$Db_size): the Db import is required"
svc_use_python
"$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/api.py" write-config --prefix Db --output "$APPGRAPH_DATA_DIR/db.json" >/dev/null
svc_log "databases: $(cat "$APPGRAPH_DATA_DIR/db.json")"
svc_start api "http://$WEBSHOP_HOST:$port/health" -- \
    "$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/api.py" serve --port "$port" --name "$APPGRAPH_INSTANCE_PATH" \
    --db-config "$APPGRAPH_DATA_DIR/db.json"
