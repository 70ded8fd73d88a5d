#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: roboconf_convert
short_description: Convert a Roboconf application directory into an appgraph application file
version_added: 0.1.0
description:
  - Reads a Roboconf application (C(descriptor/application.properties), its C(.graph) and C(.instances)
    files), validates all of it, and writes the same application as an C(*.app.yml) file that the
    C(application) module takes as O(appgraph.lifecycle.application#module:src).
  - Errors name the Roboconf file, line and column, and what to change; nothing is written then.
  - The file loads back to the very same application (its C(dialect) key, V(roboconf), keeps Roboconf's instance
    names); C(recipes) paths are rewritten relative to O(dest).
  - The application module also reads a Roboconf directory directly; convert it to keep, review and edit
    the application as one file.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  src:
    description: The Roboconf application directory (the one holding C(descriptor/application.properties)).
    type: path
    required: true
  dest:
    description: The C(*.app.yml) file to write. Its folder must exist.
    type: path
    required: true
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    description: Converts and validates, writes nothing, and reports whether O(dest) would change.
    support: full
  diff_mode:
    description: The file's text before and after.
    support: full
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Convert the LAMP example of Roboconf's tutorials
  appgraph.lifecycle.roboconf_convert:
    src: /srv/roboconf/lamp-webapp-bash
    dest: /srv/apps/lamp.app.yml
    mode: "0644"
  delegate_to: localhost

- name: Then manage it like any application file
  appgraph.lifecycle.application:
    src: /srv/apps/lamp.app.yml
    state: started
  delegate_to: localhost
"""

RETURN = r"""
dest:
  description: The file written (or that would be written in check mode).
  returned: always
  type: str
  sample: /srv/apps/lamp.app.yml
application:
  description: The application's name, from the Roboconf descriptor.
  returned: success
  type: str
  sample: lamp-webapp-bash
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import error_details
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.convert import converted
from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import AppGraphError


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_atomically(module: AnsibleModule, dest: str, text: str) -> None:
    """Write the whole file or nothing: a temporary file beside ``dest``, then one rename."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(dest) or ".", prefix=".roboconf_convert.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    module.atomic_move(temporary, dest)


def main():
    module = AnsibleModule(argument_spec=dict(src=dict(type="path", required=True),
                                              dest=dict(type="path", required=True)),
                           add_file_common_args=True, supports_check_mode=True)
    src, dest = module.params["src"], module.params["dest"]
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg="dest: the folder of %s does not exist: create it first" % dest, dest=dest)
    try:
        application, text = converted(src, dest)
    except AppGraphError as exc:
        module.fail_json(msg=str(exc), dest=dest, **error_details(exc))
    before = read_text(dest)
    changed = before != text
    if changed and not module.check_mode:
        write_atomically(module, dest, text)
    if not module.check_mode:
        changed = module.set_fs_attributes_if_different(module.load_file_common_arguments(module.params, path=dest),
                                                        changed)
    result = dict(changed=changed, dest=dest, application=application)
    if module._diff:    # pylint: disable=protected-access
        result["diff"] = dict(before=before or "", after=text, before_header=dest, after_header=dest)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
