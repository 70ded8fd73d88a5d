# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names a request carries (owner, instance id), and the instance's resource URI."""

from __future__ import annotations

import re
import string

from ..errors import InputError, shorten
from .schema import NAME_PATTERN

_NAME = re.compile(NAME_PATTERN)
NAME_HINT = "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
URI_FIELDS = ("instance_id", "owner", "guest_location", "address", "server", "provisioner")


def check_id(value, key: str) -> str:
    """An owner or instance id: it names folders, servers and databases, so it is a plain name."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InputError("%s is not a valid %s" % (shorten(value), key.replace("_", " ")), key=key, hint=NAME_HINT)
    return value


def resource_uri(template: str | None, request, parts: dict) -> str | None:
    """The template with {instance_id}, {owner}, {guest_location}, {address}, {server} and
    {provisioner} filled in (an unknown field is an error of the provisioners file)."""
    if not template:
        return None
    instance = parts.get("instance") or {}
    values = {"instance_id": request.instance_id, "owner": request.owner, "provisioner": request.provisioner,
              "guest_location": request.guest_location or "", "address": instance.get("address") or "",
              "server": instance.get("server") or ""}
    for _text, field, _spec, _conv in string.Formatter().parse(template):
        if field is not None and field not in values:
            raise InputError("resource_uri names {%s}" % field, key="resource_uri",
                             hint="the fields are %s" % ", ".join("{%s}" % f for f in URI_FIELDS))
    return template.format(**values)
