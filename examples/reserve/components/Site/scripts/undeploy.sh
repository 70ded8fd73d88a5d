#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Site undeploy: make sure site.py is stopped, then drop what the build made.
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../../../webshop/components/Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_DATA_DIR
svc_stop site
rm -rf "$APPGRAPH_DATA_DIR/pages" "$APPGRAPH_DATA_DIR/catalogue.db" "$APPGRAPH_DATA_DIR/build.json"
svc_log "undeployed: the built site is gone"
