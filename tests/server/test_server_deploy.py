"""The packaging, checked statically: the kustomize base rendered (``kubectl kustomize`` when
kubectl is on PATH, else by reading the resources list) and every object validated with
kubernetes-validate; the Helm values for Falco and falcosidekick; the Dockerfile."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import msgspec
import pytest
import yaml

from falco_response import ActionContext, Engine, hookimpl

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "deploy" / "kubernetes"
K8S_VERSION = "1.33.0"
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}


def render_without_kubectl() -> list[dict[str, Any]]:
    """What ``kubectl kustomize`` does for this base: resources, the namespace, the config
    map generator (without its hash suffix), labels and the image override."""
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    objects: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        objects.extend(o for o in yaml.safe_load_all((BASE / resource).read_text()) if o)
    for generator in kustomization.get("configMapGenerator", []):
        data = {Path(f).name: (BASE / f).read_text() for f in generator["files"]}
        objects.append({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": generator["name"]}, "data": data})
    images = {i["name"]: f"{i['newName']}:{i['newTag']}" for i in kustomization.get("images", [])}
    extra_labels = {k: v for entry in kustomization.get("labels", []) for k, v in
                    entry["pairs"].items()}
    for obj in objects:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("labels", {}).update(extra_labels)
        if obj["kind"] not in CLUSTER_SCOPED:
            meta["namespace"] = kustomization["namespace"]
        for subject in obj.get("subjects", []):
            subject["namespace"] = kustomization["namespace"]
        if obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                container["image"] = images.get(container["image"], container["image"])
    return objects


def render() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return render_without_kubectl()
    out = subprocess.run([kubectl, "kustomize", str(BASE)], check=True, capture_output=True,
                         text=True, timeout=120).stdout
    return [o for o in yaml.safe_load_all(out) if o]


@pytest.fixture(scope="module")
def objects() -> list[dict[str, Any]]:
    return render()


def one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind
             and (name is None or o["metadata"]["name"].startswith(name))]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def test_every_object_validates_for_a_current_kubernetes(objects) -> None:  # type: ignore[no-untyped-def]
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(["Namespace", "ServiceAccount", "Deployment", "Service",
                            "PodDisruptionBudget", "NetworkPolicy", "ConfigMap",
                            "ClusterRoleBinding", "ClusterRoleBinding", "ClusterRoleBinding",
                            "ClusterRole", "ClusterRole", "ClusterRole",
                            "StatefulSet", "Service", "NetworkPolicy"])
    for obj in objects:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_both_renderers_agree(objects) -> None:  # type: ignore[no-untyped-def]
    """The kubectl-free fallback must give the same objects (names drop the hash suffix)."""
    def names(objs: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
        return sorted((o["kind"], re.sub(r"-[a-z0-9]{10}$", "", o["metadata"]["name"]),
                       o["metadata"].get("namespace")) for o in objs)
    assert names(render_without_kubectl()) == names(objects)


def test_the_deployment_is_hardened_and_probed(objects) -> None:  # type: ignore[no-untyped-def]
    deployment = one(objects, "Deployment")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["serviceAccountName"] == one(objects, "ServiceAccount")["metadata"]["name"]
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["image"].endswith(":0.1.0")
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["port"] in ports
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"

    args = dict(a.split("=", 1) for a in container["args"][1:])
    assert container["args"][0] == "serve"
    assert int(args["--port"]) == ports["https"] and int(args["--health-port"]) == ports["health"]
    assert int(args["--token-port"]) == ports["https-token"]
    assert args["--client-ca"] and args["--token-file"]  # never served without auth
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    queue_dir = str(Path(args["--queue"]).parent)
    assert "emptyDir" in volumes[mounts[queue_dir]]
    assert "emptyDir" in volumes[mounts["/tmp"]]
    config_map = one(objects, "ConfigMap")
    assert volumes["config"]["configMap"]["name"] == config_map["metadata"]["name"]
    env = {e["name"]: e for e in container["env"]}
    config_path = Path(env["FALCO_RESPONSE_CONFIG"]["value"])
    assert mounts[str(config_path.parent)] == "config"
    assert config_path.name in config_map["data"]
    # the drain fits in the grace period
    assert float(args["--drain-timeout"]) < pod["terminationGracePeriodSeconds"]


def test_service_pdb_and_network_policy_select_the_pods(objects) -> None:  # type: ignore[no-untyped-def]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = one(objects, "Service", "falco-response")
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert {p["targetPort"] for p in service["spec"]["ports"]} == {"https", "https-token",
                                                                   "health"}
    pdb = one(objects, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] == 1
    policy = one(objects, "NetworkPolicy", "falco-response")
    assert policy["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
    alerts_rule, metrics_rule = policy["spec"]["ingress"]
    (source,) = alerts_rule["from"]
    assert source["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "falco"}
    (expr,) = source["podSelector"]["matchExpressions"]
    assert expr["values"] == ["falco", "falcosidekick"]
    assert {p["port"] for p in alerts_rule["ports"]} == {"https", "https-token"}
    assert {p["port"] for p in metrics_rule["ports"]} == {"health"}


def test_cluster_role_bindings_bind_the_plugins_roles_to_our_account(objects) -> None:  # type: ignore[no-untyped-def]
    account = one(objects, "ServiceAccount")
    roles = {o["metadata"]["name"] for o in objects if o["kind"] == "ClusterRole"}
    bindings = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert {b["roleRef"]["name"] for b in bindings} == roles == {
        "falco-response-delete-pod", "falco-response-taint-node", "falco-response-evidence"}
    for binding in bindings:
        assert binding["subjects"] == [{"kind": "ServiceAccount",
                                        "name": account["metadata"]["name"],
                                        "namespace": account["metadata"]["namespace"]}]


class _AnyParams(msgspec.Struct):
    pass


class _StubActions:
    """Stand-ins for the slack/delete-pod/taint-node types: the base's config must load
    (responses, matches, references) without the plugins installed in this env."""

    @hookimpl
    def register_actions(self, register: Any) -> None:
        def make(params: Any) -> Any:
            def run(ctx: ActionContext) -> Any:
                return ctx.ok()
            return run
        for name, destructive in (("slack", False), ("delete-pod", True), ("taint-node", True)):
            register(name, make, params=_AnyParams, destructive=destructive, summary="stub")


def test_the_shipped_config_loads_and_starts_in_dry_run(objects, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.invalid/x")
    data = yaml.safe_load(one(objects, "ConfigMap")["data"]["falco-response.yaml"])
    engine = Engine.from_config(data, plugins=[_StubActions()], entry_points=False)
    assert engine.dry_run is True
    assert "falco-response" in engine.config.settings.protected_namespaces


def test_falco_values_send_alerts_with_mutual_tls(objects) -> None:  # type: ignore[no-untyped-def]
    values = yaml.safe_load((BASE / "falco-values.yaml").read_text())
    http = values["falco"]["http_output"]
    assert values["falco"]["json_output"] is True
    assert http["enabled"] is True and http["mtls"] is True and http["insecure"] is False
    assert http["keep_alive"] is True
    service = one(objects, "Service", "falco-response")
    namespace = service["metadata"]["namespace"]
    port = next(p["port"] for p in service["spec"]["ports"] if p["targetPort"] == "https")
    assert http["url"] == f"https://{service['metadata']['name']}.{namespace}.svc:{port}/"
    (mount,) = values["mounts"]["volumeMounts"]
    for key in ("client_cert", "client_key", "ca_cert"):
        assert http[key].startswith(mount["mountPath"] + "/")


def test_falcosidekick_values_use_the_token_listener_and_keep_the_token_out(objects) -> None:  # type: ignore[no-untyped-def]
    text = (BASE / "falcosidekick-values.yaml").read_text()
    values = yaml.safe_load(text)
    service = one(objects, "Service", "falco-response")
    port = next(p["port"] for p in service["spec"]["ports"] if p["targetPort"] == "https-token")
    webhook = values["config"]["webhook"]
    assert webhook["address"].endswith(f".svc:{port}/") and webhook["checkcert"] is True
    assert "customHeaders" not in webhook  # comes from the existing Secret's environment
    assert values["config"]["existingSecret"]


# -- the Dockerfile ---------------------------------------------------------------------------

def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) pairs, with line continuations joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip()
             else "") for line in joined.splitlines() if line.strip()]


def stages() -> list[list[tuple[str, str]]]:
    found: list[list[tuple[str, str]]] = []
    for instruction, args in dockerfile():
        if instruction == "FROM":
            found.append([])
        if found:
            found[-1].append((instruction, args))
    return found


def test_the_dockerfile_is_multi_stage_slim_and_non_root() -> None:
    built = stages()
    assert len(built) >= 2
    froms = [stage[0][1] for stage in built]
    assert all(re.match(r"python:\$\{PYTHON_VERSION\}-slim AS \w+", f) for f in froms)
    final = built[-1]
    users = [args for instruction, args in final if instruction == "USER"]
    assert users, "the final stage must set USER"
    user = users[-1].split(":")[0]
    assert user not in ("0", "root") and user.isdigit()  # numeric: runAsNonRoot can check it
    copies = [args for instruction, args in final if instruction == "COPY"]
    assert copies and all(c.startswith("--from=") for c in copies)  # no source in runtime
    entry = [args for instruction, args in final if instruction == "ENTRYPOINT"]
    assert entry == ['["falco-response"]']


def test_the_dockerfile_picks_plugins_by_build_arg_and_holds_no_secret() -> None:
    args = {a.split("=", 1)[0]: a.split("=", 1)[1].strip('"') for i, a in dockerfile()
            if i == "ARG" and "=" in a}
    assert args["PLUGINS"] == "slack delete-pod taint-node evidence"
    for name in args["PLUGINS"].split():
        assert (ROOT / "plugins" / name / "pyproject.toml").is_file(), name
    build = " ".join(a for i, a in stages()[0] if i == "RUN")
    assert "${PLUGINS}" in build and 'plugins/${name}' in build
    for instruction, value in dockerfile():
        if instruction in ("ENV", "ARG", "LABEL"):
            assert not re.search(r"(TOKEN|SECRET|PASSWORD|WEBHOOK_URL|API_KEY)\S*=", value,
                                 re.IGNORECASE), value
        assert instruction != "ADD", "ADD fetches URLs and unpacks archives: use COPY"
    env = " ".join(a for i, a in stages()[-1] if i == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # nothing written to a read-only root
    queue = re.search(r"FALCO_RESPONSE_QUEUE=(\S+)", env)
    assert queue is not None
    volumes = " ".join(a for i, a in stages()[-1] if i == "VOLUME")
    assert str(Path(queue.group(1)).parent) in volumes


def test_the_dockerignore_keeps_secrets_and_tests_out_of_the_context() -> None:
    ignore = (ROOT / ".dockerignore").read_text().split()
    for pattern in ("**/*.pem", "**/*.key", "**/.env", "**/tests/", "**/*.db"):
        assert pattern in ignore
    copied = [shlex.split(a)[0] for i, a in stages()[0] if i == "COPY"]
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    assert {c.rstrip("/") for c in copied} <= allowed | {"README.md", "pyproject.toml"}
