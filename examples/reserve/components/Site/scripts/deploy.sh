#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Site deploy: build the site (the catalogue database, the pages, the warm-up): the slow part.
# shellcheck disable=SC2154  # port, build_seconds, products: set by the script installer (see svc_require)
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../../../webshop/components/Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_FILES_DIR APPGRAPH_DATA_DIR port build_seconds products
svc_use_python
"$WEBSHOP_PY" "$APPGRAPH_FILES_DIR/build_site.py" --data "$APPGRAPH_DATA_DIR" --products "$products" \
    --seconds "$build_seconds"
svc_log "deployed: the site is built in $APPGRAPH_DATA_DIR; it will listen on $WEBSHOP_HOST:$port"
