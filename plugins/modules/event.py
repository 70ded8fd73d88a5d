#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: event
short_description: Append an event to the store's outbox, for rulebooks and other readers
version_added: 0.1.0
description:
  - Writes one event to the outbox that the engine writes every state change to, so that a playbook can tell
    the rulebooks reading it (the C(appgraph.lifecycle.events) event source) something, such as the result of a
    request that came in through the REST rulebook (C(playbooks/eda_request.yml) records C(request_finished)).
  - The event gets the next id; readers see it after every event with a smaller id.
author:
  - appgraph.lifecycle contributors (@appgraph)
options:
  kind:
    description: What happened, a lower-case name (letters, digits, C(_)), or such names joined by C(.) (C(shop.order_paid)); readers filter on it.
    type: str
    required: true
  data:
    description: What the readers need to know, any JSON value in a dict.
    type: dict
    default: {}
  application:
    description: The application the event belongs to, if any.
    type: str
  subject:
    description: What the event is about (an instance path, a server name, a request id). Readers see it as C(path).
    type: str
extends_documentation_fragment:
  - appgraph.lifecycle.store
attributes:
  check_mode:
    description: Writes nothing, returns no RV(id), and reports a change.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
  platform:
    description: Runs on the controller.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Tell the rulebooks that a request is done
  appgraph.lifecycle.event:
    kind: request_finished
    subject: "{{ request_id }}"
    data:
      ok: true
      summary: "{{ reconciled.summary }}"
  delegate_to: localhost
"""

RETURN = r"""
id:
  description: The id of the new event (not returned in check mode).
  returned: success, not in check mode
  type: int
  sample: 4711
kind:
  description: The kind written.
  returned: always
  type: str
  sample: request_finished
"""

from ansible_collections.appgraph.lifecycle.plugins.module_utils.ansible_common import AppGraphModule
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.events import check_kind, publish


def main():
    argument_spec = dict(
        kind=dict(type="str", required=True),
        data=dict(type="dict", default={}),
        application=dict(type="str"),
        subject=dict(type="str"),
    )
    module = AppGraphModule(argument_spec)
    params = module.params

    def call(store):
        check_kind(params["kind"])
        if module.check_mode:
            return {"changed": True, "kind": params["kind"]}
        event_id = publish(store, params["kind"], params["data"], application=params["application"],
                           subject=params["subject"])
        return {"changed": True, "kind": params["kind"], "id": event_id}

    module.run(call, outcome=lambda result: None)


if __name__ == "__main__":
    main()
