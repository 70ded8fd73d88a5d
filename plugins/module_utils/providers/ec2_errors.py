# -*- coding: utf-8 -*-
# Copyright: appgraph.lifecycle contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the ``ec2`` provider speaks of AWS's errors: boto3 when it is there, stand-ins when not, and
the engine's error for every botocore exception (retry-worthy codes are ``TransientError``).

Kept apart from ``ec2.py`` so the provider reads as the contract mapping it is.
"""

from __future__ import annotations

import traceback
from contextlib import contextmanager
from typing import Iterator

from ..errors import AppGraphError, PermanentError, TransientError

try:
    import boto3
    from botocore.config import Config  # pylint: disable=unused-import  # ec2.py builds its clients with it
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError
except ImportError:
    boto3 = None
    Config = None
    BOTO3_IMPORT_ERROR: str | None = traceback.format_exc()

    class BotoCoreError(Exception):  # type: ignore[no-redef]
        """Stand-in so the ``except`` clauses below stay valid without botocore."""

    class ClientError(Exception):  # type: ignore[no-redef]
        """Stand-in (see ``BotoCoreError``)."""

    class HTTPClientError(BotoCoreError):  # type: ignore[no-redef]
        """Stand-in (see ``BotoCoreError``)."""

    class BotoConnectionError(BotoCoreError):  # type: ignore[no-redef]
        """Stand-in (see ``BotoCoreError``)."""
else:
    BOTO3_IMPORT_ERROR = None

HAS_BOTO3 = boto3 is not None
MISSING_BOTO3 = "the ec2 provider needs boto3 (pip install boto3)"

NOT_FOUND = ("InvalidInstanceID.NotFound",)
# Worth retrying: throttling, capacity shortages, the service itself failing.
TRANSIENT_CODES = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottled", "RequestThrottledException",
    "RequestLimitExceeded", "TooManyRequestsException", "EC2ThrottledException", "SlowDown",
    "PriorRequestNotComplete", "RequestTimeout", "RequestTimeoutException", "ServiceUnavailable",
    "Unavailable", "InternalError", "InternalFailure", "InsufficientInstanceCapacity",
    "InsufficientHostCapacity", "InsufficientReservedInstanceCapacity", "InsufficientCapacity",
))


class Ec2ApiError(PermanentError):
    """An EC2 API answer no retry will change; ``code`` is AWS's error code."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class Ec2TransientError(TransientError):
    """An EC2 API answer worth retrying later (throttling, capacity, 5xx, no connection)."""

    def __init__(self, message: str, code: str | None = None, retry_after: float | None = None):
        super().__init__(message, retry_after=retry_after)
        self.code = code


def map_error(what: str, exc: Exception) -> AppGraphError:
    """The engine's error for a botocore exception raised while doing ``what``."""
    if isinstance(exc, ClientError):
        error = getattr(exc, "response", {}).get("Error", {})
        code = str(error.get("Code") or "Unknown")
        message = "%s failed: %s: %s" % (what, code, error.get("Message") or exc)
        status = getattr(exc, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        if code in TRANSIENT_CODES or int(status) >= 500:
            return Ec2TransientError(message, code=code, retry_after=5.0 if "Capacity" in code else None)
        return Ec2ApiError(message, code=code)
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return Ec2TransientError("%s failed: %s" % (what, exc))
    return Ec2ApiError("%s failed: %s: %s" % (what, type(exc).__name__, exc))


@contextmanager
def translated(what: str) -> Iterator[None]:
    try:
        yield
    except (BotoCoreError, ClientError) as exc:
        raise map_error(what, exc) from exc


def error_code(exc: Exception) -> str | None:
    return getattr(exc, "code", None)
