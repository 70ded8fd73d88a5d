#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Lb update: API servers came or went; rewrite backends.json and have lb.py read it again (no
# restart: requests in flight are not cut).
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_FILES_DIR APPGRAPH_DATA_DIR
svc_use_python
"$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/lb.py" write-config --prefix Api --output "$APPGRAPH_DATA_DIR/backends.json" >/dev/null
svc_log "backends now: $(cat "$APPGRAPH_DATA_DIR/backends.json")"
svc_reload lb
