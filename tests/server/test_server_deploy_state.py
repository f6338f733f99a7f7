"""The kustomize base runs its replicas on one shared store: the `redis` StatefulSet (Valkey
with a PersistentVolumeClaim), its password from a Secret and never in a process's
arguments, reachable only from falco-response's pods; the shipped config names it."""

from __future__ import annotations

from typing import Any

import yaml

from test_server_deploy import objects, one  # noqa: F401  (the rendered base)


def store_url(objects: list[dict[str, Any]]) -> str:
    config = yaml.safe_load(one(objects, "ConfigMap")["data"]["falco-response.yaml"])
    return str(config["settings"]["store"])


def test_replicas_share_the_base_redis(objects) -> None:  # type: ignore[no-untyped-def]
    deployment = one(objects, "Deployment")
    assert deployment["spec"]["replicas"] > 1
    url = store_url(objects)
    service = one(objects, "Service", "redis")
    namespace = service["metadata"]["namespace"]
    port = service["spec"]["ports"][0]["port"]
    assert url == f"redis://{service['metadata']['name']}.{namespace}.svc:{port}/0"
    statefulset = one(objects, "StatefulSet", "redis")
    pod_labels = statefulset["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert statefulset["spec"]["replicas"] == 1
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    args = container["args"]
    assert mounts[claim["metadata"]["name"]] == args[args.index("--dir") + 1]
    assert args[args.index("--appendonly") + 1] == "yes"
    assert args[args.index("--maxmemory-policy") + 1] == "noeviction"


def test_the_password_comes_from_one_secret_and_never_from_arguments(objects) -> None:  # type: ignore[no-untyped-def]
    (app,) = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in app["env"]}
    ref = env["FALCO_RESPONSE_REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
    pod = one(objects, "StatefulSet", "redis")["spec"]["template"]["spec"]
    (init,) = pod["initContainers"]
    (init_env,) = init["env"]
    assert init_env["valueFrom"]["secretKeyRef"] == ref
    assert "password" not in store_url(objects) and "@" not in store_url(objects)
    (server,) = pod["containers"]
    assert "requirepass" not in " ".join(server["args"])
    assert not server.get("env")
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["auth"]["emptyDir"]["medium"] == "Memory"
    assert server["args"][0].startswith("/etc/valkey/")
    assert pod["automountServiceAccountToken"] is False
    assert server["securityContext"]["readOnlyRootFilesystem"] is True


def test_only_falco_response_reaches_the_store(objects) -> None:  # type: ignore[no-untyped-def]
    policy = one(objects, "NetworkPolicy", "redis")
    store_labels = one(objects, "StatefulSet", "redis")["spec"]["template"]["metadata"]["labels"]
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= store_labels.items()
    (rule,) = policy["spec"]["ingress"]
    (source,) = rule["from"]
    assert set(source) == {"podSelector"}  # this namespace only
    app_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert source["podSelector"]["matchLabels"].items() <= app_labels.items()
    assert [p["port"] for p in rule["ports"]] == ["redis"]
