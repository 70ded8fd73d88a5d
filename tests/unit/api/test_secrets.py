"""A secret in a component's provider options (an application file) reaches the provider and never
the store: not the stored document, not its digest, not the server row, not the instance runtime."""

from __future__ import annotations

import glob
import json

from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.application import ensure_application
from ansible_collections.appgraph.lifecycle.plugins.module_utils.api.info import application_info, application_report
from ansible_collections.appgraph.lifecycle.plugins.module_utils.installers.registry import InstallerRegistry
from ansible_collections.appgraph.lifecycle.plugins.module_utils.servers.secrets import SECRETS_KEY
from ansible_collections.appgraph.lifecycle.plugins.module_utils.store.store import Store
from ansible_collections.appgraph.lifecycle.tests.helpers.providers import FakeProvider

SECRET = "s3cr3t-Tok3n-that-must-not-be-stored"

APP = """\
application: cloudy
components:
  Vm:
    installer: server
    provider: fakecloud
    provider_options: {zone: a, api_token: %s}
    exports: {ip: null}
instances:
  - {name: vm, component: Vm}
""" % SECRET


def test_a_secret_option_reaches_the_provider_and_never_the_store(tmp_path):
    src = tmp_path / "cloudy.app.yml"
    src.write_text(APP, encoding="utf-8")
    provider, seen = FakeProvider(), []

    def factory(name, options):
        seen.append((name, dict(options)))
        return provider

    installers = InstallerRegistry(settings={"server": {"provider_factory": factory}})
    dsn = str(tmp_path / "store.db")
    with Store(dsn) as store:
        result = ensure_application(store, src=str(src), state="started", installers=installers)
        assert result["failed_operations"] == [] and result["instances"][0]["state"] == "deployed_started"
        record = store.application("cloudy")
        assert record.document["components"]["Vm"]["provider_options"] == {"zone": "a"}
        assert record.document[SECRETS_KEY] == ["Vm.api_token"]
        assert store.instance_rows("cloudy")["/vm"].runtime["provider_options"] == {"zone": "a"}
        # what the modules return (application's result, application_info's runtime) never has it
        calls = len(seen)
        info = application_info(store, "cloudy", check_mode=True, provider_factory=factory)
        assert info["instances"][0]["runtime"]["provider_options"] == {"zone": "a"}
        report = application_report(store, "cloudy", check_mode=True, provider_factory=factory)
        assert SECRET not in json.dumps([result, report, info["instances"]], default=str)
        del seen[calls:]        # (reading heartbeats asks the provider with the stored options)
        again = ensure_application(store, src=str(src), state="undeployed", installers=installers)
        assert again["failed_operations"] == []
    assert seen and all(options.get("api_token") == SECRET for _name, options in seen)
    for path in glob.glob(dsn + "*"):               # the database, its WAL, its shared memory
        with open(path, "rb") as handle:
            assert SECRET.encode() not in handle.read(), path
