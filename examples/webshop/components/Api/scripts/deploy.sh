#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Api deploy: check that this server can run the API server (api.py needs Python 3.7+).
# shellcheck disable=SC2154  # port, Db_size, ...: set by the script installer (see svc_require)
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_FILES_DIR APPGRAPH_DATA_DIR port
svc_use_python
[ -f "$APPGRAPH_FILES_DIR/api.py" ] || svc_fail "api.py is missing from $APPGRAPH_FILES_DIR"
mkdir -p "$APPGRAPH_DATA_DIR"
svc_log "deployed: the API server will listen on $WEBSHOP_HOST:$port"
