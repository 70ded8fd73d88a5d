# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The moto fixtures, for every test (a pytest plugin of tests/conftest.py).

A moto server (``python -m moto.server``, a real EC2 API peer over HTTP) for providers/test_ec2.py
and servers/test_pools.py: one process for the whole session, started by the first test that asks
for it; without boto3 or moto, the tests that use it skip.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from ansible_collections.appgraph.lifecycle.tests.helpers.net import free_port

REGION = "us-east-1"
STARTUP_TIMEOUT = 30.0
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as reply:
            return reply.status == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory):
    """``http://127.0.0.1:<port>`` of a moto server process (fake credentials in the environment)."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto.server")
    with pytest.MonkeyPatch.context() as env:
        for key, value in FAKE_ENV.items():
            env.setenv(key, value)
        env.delenv("AWS_PROFILE", raising=False)
        server_env = dict(os.environ, MOTO_ENABLE_AMI_VALIDATION="true",
                          MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION="true")
        log_path = tmp_path_factory.mktemp("moto") / "moto.log"
        for _attempt in range(3):  # the free port may be taken between probing and binding
            port = free_port()
            url = "http://127.0.0.1:%d" % port
            with open(log_path, "ab") as log:
                process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                           stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           env=server_env)
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while process.poll() is None and time.monotonic() < deadline and not _get(url + "/moto-api/"):
                time.sleep(0.05)
            if process.poll() is None and _get(url + "/moto-api/"):
                break
            process.kill()
            process.wait()
        else:
            pytest.fail("moto server did not start; log:\n%s" % log_path.read_text()[-2000:])
        try:
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture
def aws(moto_url):
    """A plain boto3 EC2 client on a freshly reset moto server: the test's own eyes."""
    boto3 = pytest.importorskip("boto3")
    urllib.request.urlopen(urllib.request.Request(moto_url + "/moto-api/reset", method="POST"), timeout=5).read()
    return boto3.client("ec2", region_name=REGION, endpoint_url=moto_url)


@pytest.fixture(scope="session")
def session_image_id(moto_url):
    """One of moto's default AMIs (they survive a reset). Looked up once: listing them takes ~2 s."""
    boto3 = pytest.importorskip("boto3")
    client = boto3.client("ec2", region_name=REGION, endpoint_url=moto_url)
    return client.describe_images(Owners=["amazon"], MaxResults=5)["Images"][0]["ImageId"]


@pytest.fixture
def image_id(aws, session_image_id):
    return session_image_id
