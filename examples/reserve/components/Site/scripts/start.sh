#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Site start: run site.py in the background; return once it answers /health.
# shellcheck disable=SC2154  # port: set by the script installer (see svc_require)
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../../../webshop/components/Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_FILES_DIR APPGRAPH_DATA_DIR port
svc_use_python
svc_start site "http://$WEBSHOP_HOST:$port/health" -- \
    "$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/site.py" --port "$port" --data "$APPGRAPH_DATA_DIR"
