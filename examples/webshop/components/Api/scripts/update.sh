#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Api update: the Db imports changed; rewrite db.json and have api.py read it again (no restart).
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_FILES_DIR APPGRAPH_DATA_DIR
svc_use_python
"$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/api.py" write-config --prefix Db --output "$APPGRAPH_DATA_DIR/db.json" >/dev/null
svc_log "databases now: $(cat "$APPGRAPH_DATA_DIR/db.json")"
svc_reload api
