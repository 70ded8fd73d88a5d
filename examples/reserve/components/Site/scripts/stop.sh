#!/usr/bin/env bash
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# Site stop: stop site.py and wait until it is gone.
set -euo pipefail
# The Service component's script: merged into this folder at deploy (the component extends Service).
# shellcheck source=SCRIPTDIR/../../../../webshop/components/Service/scripts/service.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/service.sh"

svc_require APPGRAPH_DATA_DIR
svc_stop site
