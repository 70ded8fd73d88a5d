# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``ec2`` provider against a real EC2 API peer: a moto server process on 127.0.0.1.

Not moto's in-process ``mock_aws``: boto3 talks HTTP to ``python -m moto.server``, started once per
session with fake credentials and AMI / instance type validation on, and reset before each test.
Every observation is checked through a separate boto3 client, not only through the provider.
The moto fixtures (``moto_url``, ``aws``, ``image_id``) are in tests/unit/conftest.py: servers/test_pools.py
uses the same server.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.server")

# pylint: disable=wrong-import-position
from botocore.exceptions import ClientError, EndpointConnectionError  # noqa: E402

from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import (  # noqa: E402
    InputError, PermanentError, TransientError)
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers import ec2, ec2_errors, registry  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.model.statuses import RUNNING, STARTING, STOPPED  # noqa: E402
from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers.base import ServerSpec  # noqa: E402
from ansible_collections.appgraph.lifecycle.tests.helpers.net import free_port  # noqa: E402


@pytest.fixture
def make(moto_url, image_id):
    """``make(**options)``: an Ec2Provider through the registry, pointed at the moto server."""
    def factory(**options):
        return registry.get_provider("ec2", dict({"endpoint_url": moto_url, "image_id": image_id}, **options))
    return factory


def spec(name="web-1", token="appgraph-tok-1", server_type="web", tags=None) -> ServerSpec:
    return ServerSpec(name=name, server_type=server_type, client_token=token,
                      tags={"appgraph_application": "shop"} if tags is None else tags)


def describe(aws, instance_id: str) -> dict:
    return aws.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


def tags_of(instance: dict) -> dict:
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


def live(aws) -> list[dict]:
    reply = aws.describe_instances(Filters=[{"Name": "instance-state-name",
                                             "Values": ["pending", "running", "stopping", "stopped"]}])
    return [i for r in reply["Reservations"] for i in r["Instances"]]


# -- create ---------------------------------------------------------------------------------------

def test_create_tags_the_instance_and_passes_the_client_token(make, aws, image_id):
    provider = make(instance_type="t3.small", tags={"team": "web", "Name": "custom"})
    server = provider.create_server(spec(tags={"appgraph_application": "shop", "tier": "front"}))

    instance = describe(aws, server.provider_id)
    assert tags_of(instance) == {"appgraph:name": "web-1", "appgraph:server_type": "web",
                                 "appgraph:client_token": "appgraph-tok-1", "Name": "custom", "team": "web",
                                 "appgraph_application": "shop", "tier": "front"}
    assert (instance["ImageId"], instance["InstanceType"]) == (image_id, "t3.small")
    assert instance["ClientToken"] == "appgraph-tok-1"
    assert server.state in (STARTING, RUNNING)
    assert (server.name, server.client_token, server.address) == ("web-1", "appgraph-tok-1",
                                                                  instance["PrivateIpAddress"])
    assert server.tags == {"Name": "custom", "team": "web", "appgraph_application": "shop", "tier": "front"}
    assert server.extra["server_type"] == "web" and server.created_at > 0


def test_name_tag_defaults_to_the_server_name_and_public_ip_is_optional(make, aws):
    server = make(use_public_ip=True).create_server(spec())
    instance = describe(aws, server.provider_id)
    assert tags_of(instance)["Name"] == "web-1"
    assert server.address == instance.get("PublicIpAddress")


def test_create_is_idempotent_for_one_client_token(make, aws):
    first = make().create_server(spec())
    again = make().create_server(spec())  # a retry from another controller process
    assert again.provider_id == first.provider_id
    assert [i["InstanceId"] for i in live(aws)] == [first.provider_id]
    other = make().create_server(spec(name="web-2", token="appgraph-tok-2"))
    assert other.provider_id != first.provider_id
    assert len(live(aws)) == 2


def test_create_adopts_an_instance_tagged_with_the_token(make, aws, image_id):
    # Made by an earlier run, long ago (older than EC2's ClientToken window): found by its tag.
    made = aws.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=[{
        "ResourceType": "instance", "Tags": [{"Key": "appgraph:client_token", "Value": "appgraph-old"},
                                             {"Key": "appgraph:name", "Value": "web-1"}]}])
    instance_id = made["Instances"][0]["InstanceId"]
    assert make().create_server(spec(token="appgraph-old")).provider_id == instance_id
    assert [i["InstanceId"] for i in live(aws)] == [instance_id]


def test_create_starts_an_adopted_stopped_instance_and_skips_terminated_ones(make, aws):
    provider = make()
    first = provider.create_server(spec())
    aws.stop_instances(InstanceIds=[first.provider_id])
    assert describe(aws, first.provider_id)["State"]["Name"] == "stopped"
    assert provider.create_server(spec()).provider_id == first.provider_id
    assert describe(aws, first.provider_id)["State"]["Name"] in ("pending", "running")

    aws.terminate_instances(InstanceIds=[first.provider_id])
    fresh = provider.create_server(spec())  # moto keeps no ClientToken window: a new instance
    assert fresh.provider_id != first.provider_id


def test_bad_server_specs_are_refused_before_any_call(make):
    provider = make()
    with pytest.raises(InputError) as error:
        provider.create_server(spec(token="x" * 65))
    assert error.value.key == "client_token"
    with pytest.raises(InputError, match="reserved"):
        provider.create_server(spec(tags={"appgraph:name": "other"}))
    with pytest.raises(InputError, match="unknown server option"):
        provider.create_server(ServerSpec("web-1", "web", "appgraph-tok-1", options={"disk": "10G"}))


# -- the life cycle -----------------------------------------------------------------------------

def test_has_started_follows_the_instance_state(make, aws):
    provider = make()
    server = provider.create_server(spec())
    assert describe(aws, server.provider_id)["State"]["Name"] == "running"  # moto: running at once
    assert provider.has_started(server.provider_id) is True

    aws.stop_instances(InstanceIds=[server.provider_id])
    assert describe(aws, server.provider_id)["State"]["Name"] == "stopped"
    with pytest.raises(PermanentError, match="is stopped"):
        provider.has_started(server.provider_id)
    with pytest.raises(TransientError, match="not found"):
        provider.has_started("i-0123456789abcdef0")


def test_has_started_can_wait_for_the_status_checks(make, aws):
    provider = make(wait_for_status_checks=True)
    server = provider.create_server(spec())
    statuses = aws.describe_instance_status(InstanceIds=[server.provider_id])["InstanceStatuses"]
    assert statuses[0]["InstanceStatus"]["Status"] == "ok"
    assert provider.has_started(server.provider_id) is True


def test_stop_then_has_stopped(make, aws):
    provider = make()
    server = provider.create_server(spec())
    assert provider.has_stopped(server.provider_id) is False
    provider.stop_server(server.provider_id)
    assert describe(aws, server.provider_id)["State"]["Name"] == "stopped"
    assert provider.has_stopped(server.provider_id) is True
    provider.stop_server(server.provider_id)  # stopping a stopped server does nothing
    provider.stop_server("i-0123456789abcdef0")  # nor does stopping one EC2 does not know
    assert provider.has_stopped("i-0123456789abcdef0") is True
    [listed] = make().list_servers()
    assert listed.state == STOPPED


def test_delete_then_has_been_deleted(make, aws):
    provider = make()
    server = provider.create_server(spec())
    provider.stop_server(server.provider_id)
    assert provider.has_been_deleted(server.provider_id) is False
    provider.delete_server(server.provider_id)
    assert describe(aws, server.provider_id)["State"]["Name"] == "terminated"
    assert provider.has_been_deleted(server.provider_id) is True
    assert provider.has_stopped(server.provider_id) is True
    provider.delete_server(server.provider_id)  # deleting a deleted server does nothing
    provider.delete_server("i-0123456789abcdef0")
    assert provider.has_been_deleted("i-0123456789abcdef0") is True
    assert provider.list_servers() == [] and provider.current_server_count() == 0


def test_reboot(make, aws):
    provider = make()
    server = provider.create_server(spec())
    provider.reboot_server(server.provider_id)
    assert describe(aws, server.provider_id)["State"]["Name"] == "running"
    assert provider.has_started(server.provider_id) is True
    with pytest.raises(PermanentError, match="InvalidInstanceID.NotFound") as error:
        provider.reboot_server("i-0123456789abcdef0")
    assert error.value.code == "InvalidInstanceID.NotFound"
    assert provider.last_heartbeat(server.provider_id) is None


def test_ids_that_are_not_instance_ids_are_refused(make):
    with pytest.raises(PermanentError, match="not an EC2 instance id"):
        make().has_stopped("../etc")


# -- observe ------------------------------------------------------------------------------------

def test_list_servers_by_tags_from_a_fresh_provider(make, aws, image_id):
    provider = make()
    web = provider.create_server(spec("web-1", "appgraph-t1", tags={"appgraph_application": "shop", "tier": "web"}))
    db = provider.create_server(spec("db-1", "appgraph-t2", "db", tags={"appgraph_application": "shop", "tier": "db"}))
    blog = provider.create_server(spec("blog-1", "appgraph-t3", tags={"appgraph_application": "blog"}))
    gone = provider.create_server(spec("old-1", "appgraph-t4", tags={"appgraph_application": "shop"}))
    aws.terminate_instances(InstanceIds=[gone.provider_id])
    aws.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=[  # not ours
        {"ResourceType": "instance", "Tags": [{"Key": "appgraph_application", "Value": "shop"}]}])

    fresh = make()
    assert [s.provider_id for s in fresh.list_servers({"appgraph_application": "shop"})] == [
        db.provider_id, web.provider_id]
    assert [s.name for s in fresh.list_servers({"appgraph_application": "shop", "tier": "web"})] == ["web-1"]
    assert [s.name for s in fresh.list_servers({"appgraph:server_type": "db"})] == ["db-1"]
    assert fresh.list_servers({"appgraph_application": "sh*"}) == []  # no wildcards
    listed = {s.provider_id: s for s in fresh.list_servers()}
    assert set(listed) == {web.provider_id, db.provider_id, blog.provider_id}
    assert listed[db.provider_id].client_token == "appgraph-t2"
    assert listed[db.provider_id].extra["server_type"] == "db"
    assert fresh.current_server_count() == 3


def test_list_servers_follows_pagination(make, aws, image_id):
    provider = make()
    for index in range(3):
        aws.run_instances(ImageId=image_id, MinCount=2, MaxCount=2, TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "appgraph:name", "Value": "bulk-%d" % index}]}])
    # Pages of one reservation: the provider must walk every page.
    original = provider._client().get_paginator  # pylint: disable=protected-access

    def small_pages(name):
        paginator = original(name)
        paginate = paginator.paginate
        paginator.paginate = lambda **kw: paginate(PaginationConfig={"PageSize": 5}, **kw)
        return paginator
    provider._client().get_paginator = small_pages  # pylint: disable=protected-access
    assert provider.current_server_count() == 6
    assert sorted(s.name for s in provider.list_servers()) == ["bulk-0", "bulk-0", "bulk-1", "bulk-1",
                                                               "bulk-2", "bulk-2"]


def test_identity_names_the_account_and_region(make, moto_url):
    assert make().identity() == "ec2:123456789012:us-east-1"  # moto's STS account
    assert make(account="prod", region="eu-west-1").identity() == "ec2:prod:eu-west-1"
    unreachable = "http://127.0.0.1:%d" % free_port()
    provider = registry.get_provider("ec2", {"endpoint_url": unreachable, "image_id": "ami-1"})
    provider._config.update(max_attempts=1, connect_timeout=1.0)  # pylint: disable=protected-access
    assert provider.identity() == "ec2:%s:us-east-1" % unreachable


# -- options and errors -------------------------------------------------------------------------

def test_ec2_is_a_built_in_provider():
    assert "ec2" in registry.provider_names()
    assert registry.provider_class("ec2") is ec2.Ec2Provider


def test_unknown_option_is_refused_with_the_valid_keys(moto_url):
    with pytest.raises(InputError) as error:
        registry.get_provider("ec2", {"image_id": "ami-1", "instance_typ": "t3.micro"})
    assert error.value.key == "instance_typ"
    assert "image_id" in str(error.value) and "instance_type" in str(error.value)


def test_image_id_is_required(moto_url):
    with pytest.raises(InputError) as error:
        registry.get_provider("ec2", {"region": "us-east-1"})
    assert error.value.key == "image_id"


@pytest.mark.parametrize("options, key", [
    ({"security_group_ids": "sg-1"}, "security_group_ids"),
    ({"security_group_ids": [""]}, "security_group_ids"),
    ({"tags": {"appgraph:name": "x"}}, "tags"),
    ({"tags": {"team": 1}}, "tags"),
    ({"use_public_ip": "yes"}, "use_public_ip"),
    ({"aws_access_key_id": "AKIAEXAMPLE"}, "aws_secret_access_key"),
])
def test_bad_option_values_are_refused(options, key):
    with pytest.raises(InputError) as error:
        registry.get_provider("ec2", dict({"image_id": "ami-1"}, **options))
    assert error.value.key == key


def test_credentials_from_options_are_used_and_never_shown(make, aws):
    secret = "wJalrXUtnFEMI-not-a-real-secret"
    provider = make(aws_access_key_id="AKIAEXAMPLEEXAMPLE", aws_secret_access_key=secret, aws_session_token="tok")
    server = provider.create_server(spec())
    assert describe(aws, server.provider_id)["State"]["Name"] == "running"
    assert secret not in repr(provider) and secret not in provider.identity()
    with pytest.raises(PermanentError) as error:
        make(aws_access_key_id="AKIAEXAMPLEEXAMPLE", aws_secret_access_key=secret,
             instance_type="t9.nonsense").create_server(spec(token="appgraph-other"))
    assert secret not in str(error.value)


def test_a_bad_image_id_is_a_permanent_error_naming_the_aws_code(make, aws):
    with pytest.raises(PermanentError, match=r"RunInstances .*InvalidAMIID\.NotFound") as error:
        make(image_id="ami-00000000deadbeef").create_server(spec())
    assert not isinstance(error.value, TransientError)
    assert error.value.code == "InvalidAMIID.NotFound"
    assert live(aws) == []


def test_a_bad_instance_type_is_a_permanent_error_naming_the_aws_code(make, aws):
    with pytest.raises(PermanentError, match="InvalidInstanceType") as error:
        make(instance_type="t9.nonsense").create_server(spec())
    assert error.value.code == "InvalidInstanceType.NotFound"  # moto's code; AWS says InvalidParameterValue
    assert live(aws) == []


def test_an_unreachable_endpoint_is_transient(moto_url):  # moto_url: the fake credentials
    provider = registry.get_provider("ec2", {"endpoint_url": "http://127.0.0.1:%d" % free_port(),
                                             "image_id": "ami-1"})
    provider._config.update(max_attempts=1, connect_timeout=1.0)  # pylint: disable=protected-access
    with pytest.raises(TransientError, match="DescribeInstances"):
        provider.list_servers()


@pytest.mark.parametrize("code, status, transient", [
    ("RequestLimitExceeded", 503, True),
    ("Throttling", 400, True),
    ("InsufficientInstanceCapacity", 500, True),
    ("SomethingNew", 502, True),
    ("UnauthorizedOperation", 403, False),
    ("InvalidParameterValue", 400, False),
])
def test_error_mapping(code, status, transient):
    exc = ClientError({"Error": {"Code": code, "Message": "the message"},
                       "ResponseMetadata": {"HTTPStatusCode": status}}, "RunInstances")
    mapped = ec2_errors.map_error("RunInstances for server 'web-1'", exc)
    assert isinstance(mapped, TransientError if transient else PermanentError)
    assert mapped.code == code and "%s: the message" % code in str(mapped)
    assert isinstance(ec2_errors.map_error("x", EndpointConnectionError(endpoint_url="http://h")), TransientError)


def test_the_registry_imports_without_boto3(repo_root):
    """What ansible-test's import test checks: no boto3, the registry still loads; ec2 says why."""
    code = "\n".join([
        "import sys",
        "sys.modules['boto3'] = None; sys.modules['botocore'] = None",
        "sys.path.insert(0, %r)" % str(repo_root / "collection"),
        "from ansible_collections.appgraph.lifecycle.plugins.module_utils.providers import registry",
        "from ansible_collections.appgraph.lifecycle.plugins.module_utils.errors import PermanentError",
        "assert 'ec2' in registry.provider_names()",
        "try:",
        "    registry.get_provider('ec2', {'image_id': 'ami-1'})",
        "except PermanentError as exc:",
        "    print(exc)",
    ])
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "the ec2 provider needs boto3 (pip install boto3)"
