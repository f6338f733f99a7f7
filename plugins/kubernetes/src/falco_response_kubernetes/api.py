"""The few Kubernetes API calls the containment actions make, with retries and timeouts.

Every call: has a timeout (``timeout_seconds``, cut to what is left of the action's
deadline), is retried by the project's one retry policy (``falco_response.retrying``:
``Retry-After`` or exponential backoff with jitter, no attempt that would not fit before the
deadline) on 429, 5xx and connection errors, and is never retried on any other 4xx.
Objects travel as plain dicts (``_preload_content=False``): no model classes to build, so a
list of one node's pods costs what parsing its JSON costs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from falco_response import Redactor
from falco_response.retrying import deadline_retrying
from tenacity import retry_if_exception

MAX_ATTEMPTS = 6
BACKOFF_S = 0.1          # the first backoff; doubles per attempt, with jitter
MERGE_PATCH = "application/merge-patch+json"


class _DeadlinePassed(Exception):
    """Not enough time left for another attempt (never retried)."""


class KubeError(Exception):
    """An API call that failed for good. ``status`` is the HTTP status, 0 for no answer."""

    def __init__(self, what: str, status: int, message: str, *, timed_out: bool = False,
                 body: dict[str, Any] | None = None) -> None:
        self.what = what
        self.status = status
        self.message = message
        self.timed_out = timed_out
        self.body = body or {}
        super().__init__(f"{what} failed: {message}")


def _status_body(exc: Any) -> dict[str, Any]:
    try:
        body = json.loads(exc.body or b"{}")
    except (TypeError, ValueError):
        return {}
    return body if isinstance(body, dict) else {}


def _is_api_exception(exc: BaseException) -> bool:
    from kubernetes.client.exceptions import ApiException
    return isinstance(exc, ApiException)


def retryable(exc: BaseException, retry_429: bool = True) -> bool:
    """429 (unless told otherwise), 5xx, and errors where no HTTP answer came back."""
    import urllib3

    if _is_api_exception(exc):
        status = getattr(exc, "status", 0) or 0
        return (status == 429 and retry_429) or status >= 500 or status == 0
    return isinstance(exc, (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError))


def _redactor(api_client: Any) -> Redactor:
    """The client's credentials (bearer token, basic-auth password), read when a call fails:
    an EKS token is re-signed while the client lives."""
    conf = getattr(api_client, "configuration", None)
    secrets: list[str | None] = [getattr(conf, "password", None)]
    for value in (getattr(conf, "api_key", None) or {}).values():
        secrets += [str(value), str(value).removeprefix("Bearer ")]
    return Redactor(secrets=secrets)


def _describe(exc: BaseException, redact: Redactor | None = None,
              ) -> tuple[int, str, bool, dict[str, Any]]:
    """(status, message, timed out, Status body) of a failed call. An API server may echo
    the request's credentials in its answer: they are redacted before the message is cut."""
    import urllib3

    if _is_api_exception(exc):
        scrub = redact or Redactor()
        body = scrub.data(_status_body(exc))
        status = int(getattr(exc, "status", 0) or 0)
        message = scrub(body.get("message") or getattr(exc, "reason", "") or "")[:300]
        return status, f"{status} {message}".strip(), False, body
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # subclasses ConnectTimeoutError
        return 0, "no answer (could not connect)", False, {}
    if isinstance(exc, (urllib3.exceptions.TimeoutError, TimeoutError)):
        return 0, "timed out", True, {}
    return 0, f"no answer ({type(exc).__name__})", False, {}


class Kube:
    """The API calls of one action run, bounded by ``deadline`` (a ``time.monotonic()``)."""

    def __init__(self, api_client: Any, timeout: float, deadline: float,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.api_client = api_client
        self.timeout = timeout
        self.deadline = deadline
        self.sleep = sleep
        self.calls = 0

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def call(self, what: str, fn: Callable[..., Any], *args: Any, retry_429: bool = True,
             **kwargs: Any) -> dict[str, Any]:
        """Run ``fn`` (a generated client method) and return the decoded JSON body."""
        errors: list[BaseException] = []

        def attempt() -> Any:
            left = self._remaining()
            if left <= 0:
                raise _DeadlinePassed()
            self.calls += 1
            try:
                return fn(*args, _preload_content=False, _request_timeout=min(self.timeout, left),
                          **kwargs)
            except Exception as exc:
                errors.append(exc)
                raise

        retrying, _ = deadline_retrying(
            self.deadline, max_attempts=MAX_ATTEMPTS, initial=BACKOFF_S, sleep=self.sleep,
            retry=retry_if_exception(lambda e: retryable(e, retry_429)))
        try:
            response = retrying(attempt)
        except Exception as exc:
            failure: BaseException = exc
            if isinstance(exc, _DeadlinePassed):
                if not errors:
                    raise KubeError(what, 0, "timed out (the action's deadline passed)",
                                    timed_out=True) from None
                failure = errors[-1]
            status, message, timed_out, body = _describe(failure, _redactor(self.api_client))
            raise KubeError(what, status, message, timed_out=timed_out, body=body) from None
        data = response.data
        release = getattr(response, "release_conn", None)
        if release is not None:  # unread-content responses keep their connection otherwise
            release()
        decoded = json.loads(data) if data else {}
        return decoded if isinstance(decoded, dict) else {}

    def maybe(self, what: str, fn: Callable[..., Any], *args: Any,
              **kwargs: Any) -> dict[str, Any] | None:
        """Like :meth:`call`, but a 404 is ``None``."""
        try:
            return self.call(what, fn, *args, **kwargs)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    # -- the calls ------------------------------------------------------------------

    def core(self) -> Any:
        from kubernetes.client import CoreV1Api
        return CoreV1Api(self.api_client)

    def networking(self) -> Any:
        from kubernetes.client import NetworkingV1Api
        return NetworkingV1Api(self.api_client)

    @property
    def server(self) -> str:
        """The API server's URL: what a per-cluster memory is keyed by."""
        return str(getattr(getattr(self.api_client, "configuration", None), "host", ""))

    def get_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.maybe(f"GET pod {namespace}/{name}", self.core().read_namespaced_pod,
                          name, namespace)

    def pods_on_node(self, node: str) -> list[dict[str, Any]]:
        body = self.call(f"LIST pods on node {node}", self.core().list_pod_for_all_namespaces,
                         field_selector=f"spec.nodeName={node}")
        items = body.get("items") or []
        return [p for p in items if isinstance(p, dict)]

    def get_namespace(self, name: str) -> dict[str, Any] | None:
        return self.maybe(f"GET namespace {name}", self.core().read_namespace, name)

    def get_node(self, name: str) -> dict[str, Any] | None:
        return self.maybe(f"GET node {name}", self.core().read_node, name)

    def patch_node(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call(f"PATCH node {name}", self.core().patch_node, name, body,
                         _content_type=MERGE_PATCH)

    def patch_pod(self, namespace: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call(f"PATCH pod {namespace}/{name}", self.core().patch_namespaced_pod,
                         name, namespace, body, _content_type=MERGE_PATCH)

    def delete_pod(self, namespace: str, name: str, grace: int,
                   uid: str | None) -> dict[str, Any] | None:
        body: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions",
                                "gracePeriodSeconds": grace}
        if uid:
            body["preconditions"] = {"uid": uid}
        return self.maybe(f"DELETE pod {namespace}/{name}", self.core().delete_namespaced_pod,
                          name, namespace, body=body)

    def evict_pod(self, namespace: str, name: str, grace: int) -> dict[str, Any]:
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": name, "namespace": namespace},
                "deleteOptions": {"gracePeriodSeconds": grace}}
        return self.call(f"POST eviction for pod {namespace}/{name}",
                         self.core().create_namespaced_pod_eviction, name, namespace, body,
                         retry_429=False)

    def get_network_policy(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.maybe(f"GET networkpolicy {namespace}/{name}",
                          self.networking().read_namespaced_network_policy, name, namespace)

    def create_network_policy(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        name = body["metadata"]["name"]
        return self.call(f"CREATE networkpolicy {namespace}/{name}",
                         self.networking().create_namespaced_network_policy, namespace, body)

    def patch_network_policy(self, namespace: str, name: str,
                             body: dict[str, Any]) -> dict[str, Any]:
        return self.call(f"PATCH networkpolicy {namespace}/{name}",
                         self.networking().patch_namespaced_network_policy, name, namespace,
                         body, _content_type=MERGE_PATCH)

    def create_event(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.call(f"CREATE event in {namespace}", self.core().create_namespaced_event,
                         namespace, body)
