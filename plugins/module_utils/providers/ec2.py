# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ec2`` provider: a server is an EC2 instance (boto3; any EC2 API through ``endpoint_url``).

Contract mapping (``base.Provider``)::

    create_server     an instance tagged with the client token exists (not terminated)? adopt it
                      (start it when stopped, TransientError while stopping); else RunInstances
                      with ClientToken = the token
    has_started       the instance's own state is ``running`` (and, with ``wait_for_status_checks``,
                      its instance and system status checks are ``ok``)
    stop_server       StopInstances                 has_stopped       ``stopped``, ``terminated`` or gone
    delete_server     TerminateInstances            has_been_deleted  ``terminated`` or gone
    reboot_server     RebootInstances               last_heartbeat    None (EC2 runs no agent of ours)
    list_servers      DescribeInstances (paginated): instances tagged ``appgraph:name``, not terminated
    current_server_count   how many of those there are

Every instance carries the tags ``appgraph:name``, ``appgraph:server_type``,
``appgraph:client_token`` and ``Name`` (the server's name), plus the ``tags`` option and the
server's own tags. Idempotency has two layers: the tag lookup finds a server made by an earlier
run however old its token is; EC2's ``ClientToken`` covers two creators racing (a tag filter may
not see an instance launched a moment ago, the token does).

EC2 reports ``running`` during a reboot: ``has_started`` cannot see a reboot, except through the
status checks when ``wait_for_status_checks`` is set (and they lag behind).

Errors: throttling, ``RequestLimitExceeded``, capacity shortages, HTTP 5xx and connection failures
are ``TransientError``; everything else is ``PermanentError`` naming the AWS error code and message.
Credentials go to boto3 and nowhere else: never into a message, a ``repr`` or an identity.
"""

from __future__ import annotations

import os
import re
import threading
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from ..errors import AppGraphError, InputError, PermanentError, TransientError
from ..model.statuses import DELETING, RUNNING, STARTING, STOPPED, STOPPING, UNKNOWN
from .base import Option, Provider, ProviderServer, ServerSpec
from .ec2_errors import HAS_BOTO3, MISSING_BOTO3, NOT_FOUND, BotoCoreError, ClientError, Config, boto3
from .ec2_errors import error_code as _code
from .ec2_errors import translated as _translated

TAG_NAME = "appgraph:name"
TAG_SERVER_TYPE = "appgraph:server_type"
TAG_CLIENT_TOKEN = "appgraph:client_token"
RESERVED_PREFIX = "appgraph:"

# Instance states (EC2's words) in the filters: "not terminated", and what may be adopted.
LIVE_STATES = ("pending", "running", "shutting-down", "stopping", "stopped")
ADOPTABLE_STATES = ("pending", "running", "stopping", "stopped")
GONE_STATES = ("shutting-down", "terminated")
_STATE = {"pending": STARTING, "running": RUNNING, "stopping": STOPPING, "stopped": STOPPED,
          "shutting-down": DELETING, "terminated": DELETING}

INSTANCE_ID_RE = re.compile(r"^i-[0-9A-Za-z]{1,64}$")
TOKEN_RE = re.compile(r"^[\x21-\x7e]{1,64}$")  # EC2: at most 64 printable ASCII characters


class Ec2Provider(Provider):
    """Servers that are EC2 instances (or instances of any cloud speaking the EC2 API)."""

    name = "ec2"
    OPTIONS = MappingProxyType({
        "region": Option(str, "us-east-1", doc="AWS region"),
        "endpoint_url": Option(str, None, doc="EC2 API endpoint (moto, another cloud); default: AWS's"),
        "image_id": Option(str, None, doc="AMI of the instances (required)"),
        "instance_type": Option(str, "t3.micro", doc="instance type"),
        "subnet_id": Option(str, None, doc="subnet of the instances (default: the default VPC's)"),
        "security_group_ids": Option(list, None, doc="security group ids"),
        "key_name": Option(str, None, doc="EC2 key pair name"),
        "tags": Option(dict, None, doc="extra tags on every instance"),
        "use_public_ip": Option(bool, False, doc="address = the public IP instead of the private one"),
        "wait_for_status_checks": Option(bool, False,
                                         doc="has_started also waits for the status checks to be ok"),
        "account": Option(str, None, doc="label of the account in identity(); default: STS's account id"),
        "aws_access_key_id": Option(str, None, doc="credentials (default: boto3's chain)", secret=True),
        "aws_secret_access_key": Option(str, None, doc="credentials (default: boto3's chain)", secret=True),
        "aws_session_token": Option(str, None, doc="credentials (default: boto3's chain)", secret=True),
        "profile": Option(str, None, doc="profile of the AWS config files"),
        "ssh_user": Option(str, None, doc="user Ansible logs in as over SSH (the ansible installer; default: "
                                          "Ansible's own)"),
        "ssh_private_key_file": Option(str, None, doc="private key Ansible logs in with (a path: the key itself "
                                                      "is never stored)"),
        "ssh_host_key_checking": Option(bool, True, doc="whether Ansible checks the instances' host keys"),
        "python_interpreter": Option(str, None, doc="Python of the instances for Ansible's modules (default: "
                                                    "Ansible's discovery)"),
    })

    def __init__(self, image_id: str | None = None, region: str = "us-east-1", endpoint_url: str | None = None,
                 instance_type: str = "t3.micro", subnet_id: str | None = None,
                 security_group_ids: list | None = None, key_name: str | None = None,
                 tags: Mapping[str, str] | None = None, use_public_ip: bool = False,
                 wait_for_status_checks: bool = False, account: str | None = None,
                 aws_access_key_id: str | None = None, aws_secret_access_key: str | None = None,
                 aws_session_token: str | None = None, profile: str | None = None,
                 ssh_user: str | None = None, ssh_private_key_file: str | None = None,
                 ssh_host_key_checking: bool = True, python_interpreter: str | None = None, *,
                 max_attempts: int = 5, connect_timeout: float = 10.0, read_timeout: float = 60.0):
        """``max_attempts`` (botocore's own retries, ``standard`` mode) and the timeouts are for tests."""
        if not HAS_BOTO3:
            raise PermanentError(MISSING_BOTO3)
        _require(image_id, "image_id", "the AMI the instances boot, e.g. ami-0123456789abcdef0")
        _require(region, "region", "e.g. us-east-1")
        _require(instance_type, "instance_type", "e.g. t3.micro")
        if security_group_ids is not None and not all(isinstance(g, str) and g for g in security_group_ids):
            raise InputError("must be a list of security group ids", key="security_group_ids")
        self.extra_tags = _check_tags(tags, "tags")
        if (aws_access_key_id is None) != (aws_secret_access_key is None):
            raise InputError("set both aws_access_key_id and aws_secret_access_key, or neither",
                             key="aws_access_key_id" if aws_access_key_id is None else "aws_secret_access_key")
        self.image_id, self.region, self.endpoint_url = image_id, region, endpoint_url
        self.instance_type, self.subnet_id, self.key_name = instance_type, subnet_id, key_name
        self.security_group_ids = list(security_group_ids or [])
        self.use_public_ip, self.wait_for_status_checks = bool(use_public_ip), bool(wait_for_status_checks)
        self.account = account
        self.ssh = (ssh_user, ssh_private_key_file, bool(ssh_host_key_checking), python_interpreter)
        self.profile = profile
        # Kept apart, and out of __repr__: credentials are passed to boto3 and never shown.
        self._credentials = {"aws_access_key_id": aws_access_key_id,
                             "aws_secret_access_key": aws_secret_access_key,
                             "aws_session_token": aws_session_token}
        self._config = {"max_attempts": int(max_attempts), "connect_timeout": connect_timeout,
                        "read_timeout": read_timeout}
        self._lock = threading.Lock()
        self._session: Any = None
        self._ec2: Any = None
        self._identity: str | None = None

    def __repr__(self) -> str:
        return "Ec2Provider(region=%r, endpoint_url=%r, image_id=%r)" % (
            self.region, self.endpoint_url, self.image_id)

    # -- boto3 -----------------------------------------------------------------------------------

    def _client(self, service: str = "ec2", **config: Any) -> Any:
        """A client for ``service``; the EC2 one is made once (clients are thread-safe, sessions not)."""
        with self._lock:
            if service == "ec2" and self._ec2 is not None:
                return self._ec2
            with _translated("cannot make a boto3 %s client" % service):
                if self._session is None:
                    self._session = boto3.session.Session(region_name=self.region, profile_name=self.profile,
                                                          **self._credentials)
                settings = dict(self._config, **config)
                client = self._session.client(service, endpoint_url=self.endpoint_url, config=Config(
                    retries={"mode": "standard", "total_max_attempts": settings["max_attempts"]},
                    connect_timeout=settings["connect_timeout"], read_timeout=settings["read_timeout"],
                    user_agent_extra="appgraph.lifecycle"))
            if service == "ec2":
                self._ec2 = client
            return client

    def identity(self) -> str:
        """``ec2:<account>:<region>``; the account is the ``account`` option, else STS's answer,
        else the endpoint (``aws`` for AWS's own) when STS cannot be asked."""
        if self._identity is None:
            account = self.account or self._sts_account() or self.endpoint_url or "aws"
            self._identity = "ec2:%s:%s" % (account, self.region)
        return self._identity

    def _sts_account(self) -> str | None:
        try:
            sts = self._client("sts", max_attempts=2, connect_timeout=3.0, read_timeout=5.0)
            return str(sts.get_caller_identity()["Account"])
        except (AppGraphError, BotoCoreError, ClientError, KeyError):
            return None

    # -- create / start ----------------------------------------------------------------------

    def create_server(self, spec: ServerSpec) -> ProviderServer:
        tags = self._tags_for(spec)
        found = self._by_token(spec.client_token)
        if found is not None:
            if found["State"]["Name"] == "stopping":
                raise TransientError("EC2 instance %s of server %r is stopping: it is started again once stopped"
                                     % (found["InstanceId"], spec.name), retry_after=5.0)
            if found["State"]["Name"] == "stopped":  # adopted stopped: the engine asked for a started server
                with _translated("StartInstances %s" % found["InstanceId"]):
                    self._client().start_instances(InstanceIds=[found["InstanceId"]])
                found = self._instance(found["InstanceId"]) or found
            return self._server(found)
        request: dict[str, Any] = {
            "ImageId": self.image_id, "InstanceType": self.instance_type, "MinCount": 1, "MaxCount": 1,
            "ClientToken": spec.client_token,
            "TagSpecifications": [{"ResourceType": "instance",
                                   "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}],
        }
        if self.subnet_id:
            request["SubnetId"] = self.subnet_id
        if self.security_group_ids:
            request["SecurityGroupIds"] = list(self.security_group_ids)
        if self.key_name:
            request["KeyName"] = self.key_name
        with _translated("RunInstances for server %r" % spec.name):
            instance = self._client().run_instances(**request)["Instances"][0]
        if instance["State"]["Name"] in GONE_STATES:
            # EC2 answered a repeated ClientToken with the instance it made then, since terminated.
            raise PermanentError(
                "EC2 instance %s made with client token %r for server %r is %s: a new server needs a new "
                "client token" % (instance["InstanceId"], spec.client_token, spec.name, instance["State"]["Name"]))
        if not instance.get("Tags"):
            instance = dict(instance, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        return self._server(instance)

    def _tags_for(self, spec: ServerSpec) -> dict[str, str]:
        if not isinstance(spec.name, str) or not spec.name:
            raise InputError("must be a non-empty string", key="name")
        if not isinstance(spec.client_token, str) or not TOKEN_RE.match(spec.client_token):
            raise InputError("must be 1-64 printable ASCII characters (EC2's ClientToken)", key="client_token")
        for key in spec.options or {}:
            raise InputError("unknown server option for provider 'ec2'", key=str(key),
                             hint="the ec2 provider takes its settings from provider_options")
        tags = dict(self.extra_tags)
        tags.update(_check_tags(spec.tags, "tags"))
        tags.setdefault("Name", spec.name)
        tags.update({TAG_NAME: spec.name, TAG_SERVER_TYPE: str(spec.server_type),
                     TAG_CLIENT_TOKEN: spec.client_token})
        return tags

    def _by_token(self, token: str) -> dict | None:
        """The oldest adoptable instance tagged with ``token``, if any."""
        filters = [{"Name": "tag:" + TAG_CLIENT_TOKEN, "Values": [token]},
                   {"Name": "instance-state-name", "Values": list(ADOPTABLE_STATES)}]
        found = [i for i in self._describe(filters) if _tag_dict(i.get("Tags")).get(TAG_CLIENT_TOKEN) == token]
        return min(found, key=lambda i: (i.get("LaunchTime") or 0, i["InstanceId"])) if found else None

    def has_started(self, provider_id: str) -> bool:
        """True once the instance is ``running`` (and its status checks ``ok``, with that option).

        ``pending``: False. Stopped, terminated or gone: ``PermanentError`` (waiting would never
        help). Not found yet: ``TransientError`` (EC2 is eventually consistent after a launch).
        """
        instance = self._instance(provider_id)
        if instance is None:
            raise TransientError("EC2 instance %s is not found (just launched, or gone)" % provider_id,
                                 retry_after=2.0)
        state = instance["State"]["Name"]
        if state == "pending":
            return False
        if state != "running":
            raise PermanentError("EC2 instance %s is %s, not starting" % (provider_id, state))
        if not self.wait_for_status_checks:
            return True
        with _translated("DescribeInstanceStatus %s" % provider_id):
            statuses = self._client().describe_instance_status(InstanceIds=[provider_id])["InstanceStatuses"]
        return any(s.get("InstanceStatus", {}).get("Status") == "ok" and s.get("SystemStatus", {}).get("Status") == "ok"
                   for s in statuses)

    # -- stop / delete / reboot --------------------------------------------------------------

    def stop_server(self, provider_id: str) -> None:
        """StopInstances. Gone, stopped or on its way out: nothing to do. Still pending: retry later."""
        try:
            with _translated("StopInstances %s" % provider_id):
                self._client().stop_instances(InstanceIds=[_check_id(provider_id)])
        except PermanentError as exc:
            if _code(exc) in NOT_FOUND:
                return
            if _code(exc) != "IncorrectInstanceState":
                raise
            instance = self._instance(provider_id)
            state = instance["State"]["Name"] if instance else "terminated"
            if state in ("stopping", "stopped") + GONE_STATES:
                return
            raise TransientError("EC2 instance %s is %s: it can be stopped once it runs" % (provider_id, state),
                                 retry_after=5.0) from exc

    def has_stopped(self, provider_id: str) -> bool:
        instance = self._instance(provider_id)
        return instance is None or instance["State"]["Name"] in ("stopped", "terminated")

    def delete_server(self, provider_id: str) -> None:
        """TerminateInstances; an instance EC2 does not know is deleted already."""
        try:
            with _translated("TerminateInstances %s" % provider_id):
                self._client().terminate_instances(InstanceIds=[_check_id(provider_id)])
        except PermanentError as exc:
            if _code(exc) not in NOT_FOUND:
                raise

    def has_been_deleted(self, provider_id: str) -> bool:
        instance = self._instance(provider_id)
        return instance is None or instance["State"]["Name"] == "terminated"

    def reboot_server(self, provider_id: str) -> None:
        """RebootInstances. Pending: retry later; stopped or gone: ``PermanentError``."""
        try:
            with _translated("RebootInstances %s" % provider_id):
                self._client().reboot_instances(InstanceIds=[_check_id(provider_id)])
        except PermanentError as exc:
            if _code(exc) != "IncorrectInstanceState":
                raise
            instance = self._instance(provider_id)
            if instance is not None and instance["State"]["Name"] == "pending":
                raise TransientError("EC2 instance %s is pending: it can be rebooted once it runs" % provider_id,
                                     retry_after=5.0) from exc
            raise

    # -- observe -------------------------------------------------------------------------------

    def list_servers(self, tags: Mapping[str, str] | None = None) -> list[ProviderServer]:
        """Instances of this fleet tagged ``appgraph:name``, not terminated, carrying all ``tags``
        (exact values: EC2's filters would take ``*`` and ``?`` as wildcards, so matches are
        checked again here)."""
        return self._list(tags, every_fleet=False)

    def _list(self, tags: Mapping[str, str] | None, every_fleet: bool) -> list[ProviderServer]:
        wanted = _check_tags(tags, "tags", reserved_ok=True)
        filters = [{"Name": "tag-key", "Values": [TAG_NAME]},
                   {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        filters += [{"Name": "tag:" + k, "Values": [v]} for k, v in sorted(wanted.items())]
        servers = []
        for instance in self._describe(filters):
            instance_tags = _tag_dict(instance.get("Tags"))
            if TAG_NAME in instance_tags and all(instance_tags.get(k) == v for k, v in wanted.items()) \
                    and (every_fleet or self.in_fleet(instance_tags)):
                servers.append(self._server(instance))
        return sorted(servers, key=lambda s: (s.name, s.provider_id))

    def current_server_count(self) -> int:
        """Instances tagged ``appgraph:name`` in this region that are not terminated, of every fleet
        (stopped ones count: they keep their volumes and their name until deleted)."""
        return len(self._list(None, every_fleet=True))

    def last_heartbeat(self, provider_id: str) -> float | None:
        return None

    # -- helpers -------------------------------------------------------------------------------

    def _describe(self, filters: list[dict]) -> Iterator[dict]:
        with _translated("DescribeInstances"):
            pages = list(self._client().get_paginator("describe_instances").paginate(Filters=filters))
        for page in pages:
            for reservation in page.get("Reservations", []):
                yield from reservation.get("Instances", [])

    def _instance(self, provider_id: str) -> dict | None:
        """The instance ``provider_id``, terminated ones included; None when EC2 does not know it."""
        try:
            with _translated("DescribeInstances %s" % provider_id):
                reply = self._client().describe_instances(InstanceIds=[_check_id(provider_id)])
        except PermanentError as exc:
            if _code(exc) in NOT_FOUND:
                return None
            raise
        for reservation in reply.get("Reservations", []):
            for instance in reservation.get("Instances", []):
                if instance.get("InstanceId") == provider_id:
                    return instance
        return None

    def _server(self, instance: dict) -> ProviderServer:
        tags = _tag_dict(instance.get("Tags"))
        state = instance.get("State", {}).get("Name", "")
        private, public = instance.get("PrivateIpAddress"), instance.get("PublicIpAddress")
        launched = instance.get("LaunchTime")
        extra = {"server_type": tags.get(TAG_SERVER_TYPE), "ec2_state": state,
                 "instance_type": instance.get("InstanceType"), "image_id": instance.get("ImageId"),
                 "private_ip": private, "public_ip": public,
                 "availability_zone": instance.get("Placement", {}).get("AvailabilityZone"),
                 "subnet_id": instance.get("SubnetId"), "region": self.region}
        return ProviderServer(
            provider_id=instance["InstanceId"], name=tags.get(TAG_NAME) or tags.get("Name") or instance["InstanceId"],
            state=_STATE.get(state, UNKNOWN), address=public if self.use_public_ip else private,
            tags={k: v for k, v in tags.items() if not k.startswith(RESERVED_PREFIX)},
            client_token=tags.get(TAG_CLIENT_TOKEN) or instance.get("ClientToken") or "",
            created_at=launched.timestamp() if hasattr(launched, "timestamp") else 0.0, extra=extra)

    def ansible_vars(self, provider_id: str, address: str | None = None) -> dict:
        """Ansible's ``ssh`` connection to the instance's address (private, or public with
        ``use_public_ip``: the runtime's ``address``), as ``ssh_user`` with ``ssh_private_key_file``."""
        if not address:
            raise PermanentError("EC2 instance %s has no address yet: Ansible cannot reach it" % provider_id)
        user, key_file, checking, python = self.ssh
        found = {"ansible_connection": "ssh", "ansible_host": address, "appgraph_server_dir": "."}
        if user:
            found["ansible_user"] = user
        if key_file:
            found["ansible_ssh_private_key_file"] = os.path.expanduser(key_file)
        if not checking:
            found["ansible_ssh_common_args"] = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
        if python:
            found["ansible_python_interpreter"] = python
        return found


def _check_id(provider_id: str) -> str:
    if not isinstance(provider_id, str) or not INSTANCE_ID_RE.match(provider_id):
        raise PermanentError("%r is not an EC2 instance id (i-...)" % (provider_id,))
    return provider_id


def _require(value: Any, key: str, hint: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InputError("is required by provider 'ec2'", key=key, hint=hint)


def _check_tags(tags: Mapping[str, str] | None, key: str, reserved_ok: bool = False) -> dict[str, str]:
    """``tags`` as a dict of strings; the ``appgraph:`` keys are the provider's own unless ``reserved_ok``."""
    if tags is not None and not isinstance(tags, Mapping):
        raise InputError("must be a mapping of tag names to values", key=key)
    for tag, value in (tags or {}).items():
        if not (isinstance(tag, str) and tag and isinstance(value, str)):
            raise InputError("tags must map strings to strings, got %r: %r" % (tag, value), key=key)
        if tag.startswith(RESERVED_PREFIX) and not reserved_ok:
            raise InputError("tag %r is reserved" % tag, key=key,
                             hint="the ec2 provider sets the %s* tags itself" % RESERVED_PREFIX)
    return dict(tags or {})


def _tag_dict(tags: list | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or [] if "Key" in t}
