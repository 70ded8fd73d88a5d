# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""``provisioners.yml``: read, checked against ``schema.PROVISIONERS_SCHEMA``, every sub-provisioner
name found (built-ins and the ``appgraph.provisioners`` entry points) and its options checked; and the
offerings of a request checked against its provisioner's at provision time.

Every problem of a file is reported at once, each with file:line, the key and a hint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..errors import InputError, InputErrors, Location, shorten, suggest
from ..schema_errors import schema_error
from ..model.yaml_lines import load_yaml_file
from .registry import Registry
from .schema import PROVISIONERS_SCHEMA, ROLES

MAX_REPORTED = 20
DEFAULT_COMPRESSION = "gzip"


@dataclass(frozen=True)
class Provisioner:
    name: str
    provides: dict                  # role -> (sub-provisioner name, options), in ROLES order
    offerings: dict = field(default_factory=dict)
    resource_uri: str | None = None

    @property
    def roles(self) -> list:
        return [role for role in ROLES if role in self.provides]


@dataclass(frozen=True)
class SnapshotSettings:
    directory: str | None = None
    keep_days: float = 0.0
    compression: str = DEFAULT_COMPRESSION
    limits: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    path: str
    default: str
    provisioners: dict
    snapshots: SnapshotSettings

    def provisioner(self, name: str | None) -> Provisioner:
        name = name or self.default
        if name not in self.provisioners:
            raise InputError("no provisioner %r in %s" % (name, self.path), key="provisioner",
                             hint=suggest(name, self.provisioners))
        return self.provisioners[name]


def load_config(path: str, registry: Registry | None = None) -> Config:
    """Read and check the provisioners file ``path``; InputErrors list every problem."""
    if not isinstance(path, str) or not path:
        raise InputError("the provisioners file is required", key="provisioners",
                         hint="the path of a provisioners.yml (schemas/provisioners.schema.json)")
    path = os.path.abspath(os.path.expanduser(path))
    doc, locate = load_yaml_file(path)
    if not isinstance(doc, dict):
        raise InputError("a provisioners file is a mapping with 'provisioners'", locate(()),
                         hint="start the file with 'provisioners:'")
    errors = _schema_errors(doc, locate)
    if errors:
        raise InputErrors(errors[:MAX_REPORTED])
    registry = registry or Registry()
    provisioners, errors = {}, []
    for name, entry in doc["provisioners"].items():
        provides = {}
        for role in ROLES:
            if role in entry["provides"]:
                provides[role] = _sub_provisioner(registry, name, role, entry["provides"][role], locate, errors,
                                                  os.path.dirname(path))
        offerings = entry.get("offerings") or {}
        errors += _offering_errors(name, offerings, locate)
        provisioners[name] = Provisioner(name, provides, offerings, entry.get("resource_uri"))
    default = doc.get("default")
    if default is None and len(provisioners) == 1:
        default = next(iter(provisioners))
    if default is None:
        errors.append(InputError("several provisioners and no default", locate(()), key="default",
                                 hint="add 'default: <one of %s>'" % ", ".join(sorted(provisioners))))
    elif default not in provisioners:
        errors.append(InputError("the default %r is not a provisioner" % default, locate(("default",)),
                                 key="default", hint=suggest(default, provisioners)))
    if errors:
        raise InputErrors(errors[:MAX_REPORTED])
    return Config(path, default, provisioners, _snapshots(doc.get("snapshots") or {}, path))


def _snapshots(entry: dict, path: str) -> SnapshotSettings:
    directory = entry.get("directory")
    if directory:       # relative to the file, as an application's recipes are
        directory = os.path.join(os.path.dirname(path), os.path.expanduser(directory))
    return SnapshotSettings(directory, float(entry.get("keep_days") or 0), entry.get("compression")
                            or DEFAULT_COMPRESSION, dict(entry.get("limits") or {}))


def _sub_provisioner(registry: Registry, provisioner: str, role: str, entry, locate, errors: list, folder: str):
    at = ("provisioners", provisioner, "provides", role)
    name, options = (entry, {}) if isinstance(entry, str) else (entry["name"], entry.get("options") or {})
    cls = registry.get(role, name)
    if cls is None:
        errors.append(InputError("no %s sub-provisioner named %r" % (role, name),
                                 locate(at if isinstance(entry, str) else at + ("name",)), key=role,
                                 hint=suggest(name, registry.names(role)) or "install a package that provides it "
                                 "(entry point group appgraph.provisioners)"))
        return name, options
    options = cls.with_paths(options, folder)
    for key, message, hint in cls.option_errors(options):
        errors.append(InputError(message, locate(at + ("options", key)), key=key, hint=hint))
    return name, options


def _offering_errors(provisioner: str, offerings: dict, locate) -> list:
    errors = []
    for name, offering in offerings.items():
        if "default" in offering and offering["default"] not in offering["values"]:
            errors.append(InputError("the default %s is not one of the values" % shorten(offering["default"]),
                                     locate(("provisioners", provisioner, "offerings", name, "default")),
                                     key="default", hint="one of %s" % ", ".join(map(str, offering["values"]))))
    return errors


def _schema_errors(doc, locate) -> list:
    try:
        import jsonschema  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise InputError("the Python package 'jsonschema' is required to read provisioners files",
                         hint="pip install jsonschema") from None
    found = sorted(jsonschema.Draft202012Validator(PROVISIONERS_SCHEMA).iter_errors(doc),
                   key=lambda e: [str(p) for p in e.absolute_path])
    return [_schema_error(err, locate) for err in found]


def _schema_error(err, locate) -> InputError:
    return schema_error(err, locate, _provisioners_wording)


def _provisioners_wording(err, where, key) -> InputError | None:
    path = tuple(err.absolute_path)
    if err.validator in ("pattern", "propertyNames"):
        return InputError("invalid name %s" % shorten(err.instance), where, key=key,
                          hint="1-64 letters, digits, '.', '_' or '-', starting with a letter or digit")
    if err.validator == "oneOf" and path and path[-2:-1] == ("provides",):
        return InputError("a sub-provisioner is a name, or a mapping with 'name' and 'options'", where,
                          key=key, hint="for example 'database: sqlite'")
    return None


def choose_offerings(provisioner: Provisioner, requested) -> dict:
    """The offerings of a request: each known, each value allowed, defaults filled in, and a
    choice with no default required. InputErrors list every problem."""
    requested = requested or {}
    if not isinstance(requested, dict):
        raise InputError("must be a mapping of offering -> value, got %s" % shorten(requested), key="offerings")
    errors, chosen = [], {}
    for name in requested:
        if name not in provisioner.offerings:
            errors.append(InputError("provisioner %r offers no %r" % (provisioner.name, name),
                                     Location("<request>"), key="offerings.%s" % name,
                                     hint=suggest(name, provisioner.offerings) or "it offers nothing"))
    for name, offering in sorted(provisioner.offerings.items()):
        if name in requested:
            value = requested[name]
            if value not in offering["values"]:
                errors.append(InputError("%s is not offered" % shorten(value), Location("<request>"),
                                         key="offerings.%s" % name,
                                         hint="one of %s" % ", ".join(map(str, offering["values"]))))
            chosen[name] = value
        elif "default" in offering:
            chosen[name] = offering["default"]
        else:
            errors.append(InputError("is required (no default)", Location("<request>"), key="offerings.%s" % name,
                                     hint="one of %s" % ", ".join(map(str, offering["values"]))))
    if errors:
        raise InputErrors(errors)
    return chosen
