# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A reserve of EC2 instances, against a moto server process on loopback (both stores): bare
clones, and clones carrying a template application; claim, migrate, release, remove. Every
observation is checked through a separate boto3 client."""

from __future__ import annotations

from ansible_collections.appgraph.lifecycle.plugins.module_utils.reserves.service import ReserveService


def instances(aws, reserve):
    reply = aws.describe_instances(Filters=[{"Name": "tag:appgraph:server_type", "Values": [reserve]}])
    return {t["Value"]: i["State"]["Name"] for r in reply["Reservations"] for i in r["Instances"]
            for t in i["Tags"] if t["Key"] == "appgraph:name"}


def test_an_ec2_reserve_against_moto(dsn, name, site, moto_url, aws, image_id):
    options = {"endpoint_url": moto_url, "image_id": image_id, "account": "moto"}
    service = ReserveService(dsn, backoff_initial=0.01, backoff_max=0.05)
    settings = {"full_size": 2, "refill_window": ""}
    result = service.ensure(name, settings, provider="ec2", provider_options=options, src=site)
    assert result["failed"] == [] and result["counts"] == {"ready": 2}, result
    assert instances(aws, name) == {name + "-clone-1": "running", name + "-clone-2": "running"}

    claim = service.claim(name, name + "-acme")
    clone = claim["server"]["name"]                 # the first one ready (they were built at once)
    assert clone in (name + "-clone-1", name + "-clone-2") and claim["server"]["address"]
    assert claim["server"]["exports"]["/vm/site"]["Site.ip"] == claim["server"]["address"]
    result = service.ensure(name, settings, provider="ec2", provider_options=options, src=site)
    assert result["migrated"] == [{"name": clone, "alias": name + "-acme"}]
    assert len(instances(aws, name)) == 3

    assert service.release(name, name + "-acme")["released"]["reused"] is False
    assert instances(aws, name)[clone] == "terminated"
    result = service.absent(name)
    assert result["counts"] == {} and result["failed"] == []
    assert set(instances(aws, name).values()) == {"terminated"}


def test_bare_ec2_clones_and_a_cold_create(dsn, name, moto_url, aws, image_id):
    options = {"endpoint_url": moto_url, "image_id": image_id, "account": "moto"}
    service = ReserveService(dsn, backoff_initial=0.01, backoff_max=0.05)
    service.ensure(name, {"full_size": 1, "refill_window": ""}, provider="ec2", provider_options=options)
    assert instances(aws, name) == {name + "-clone-1": "running"}
    assert service.claim(name, name + "-a")["server"]["fallback_used"] is False
    cold = service.claim(name, name + "-b")
    assert cold["server"]["fallback_used"] and cold["server"]["name"] == name + "-b"
    assert instances(aws, name)[name + "-b"] == "running"
    service.release(name, name + "-a")
    service.release(name, name + "-b")
    service.absent(name)
    assert set(instances(aws, name).values()) == {"terminated"}
