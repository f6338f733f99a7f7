"""A generated *mixed* config and a realistic alert stream, for ``bench/run.py``.

Alerts: the ~80 rules of ``vocabulary.py``, noisy ones more often (Zipf-like), each with the
fields Falco prints for it (namespace, pod, image, process, parent, command line, user,
file), values drawn from cluster-sized pools: no two payloads alike.

Responses: the first ten are *broad*, the way an operator writes the rules everyone gets
(a rule glob plus a priority, tags, a regex on the command line...): each matches up to 10%
of alerts. The others are *scoped*, the way a config of thousands grows (one per team,
namespace and concern): rule names or a rule glob, a namespace, and one more of image, pod,
process, user, file or command line, with priority, source, tags and negative conditions mixed in, drawing on every
operator (equals, in, not_in, glob, regex, prefix, exists). A scoped response matches a
few alerts in a million, so an alert matches well under one response on average at
any size, and the figures compare matching, not the work of running more actions.
"""

from __future__ import annotations

import json
import random
from typing import Any

from vocabulary import (APPS, CMDLINES, FILES, IMAGES, NODES, PARENTS, PROCS, REGISTRIES,
                        RULE_GLOBS, RULES, USERS, namespaces)

NAMESPACES = namespaces()
REPOSITORIES = [f"{r}/{i}" for r in REGISTRIES for i in IMAGES]
PRIORITIES = ["Emergency", "Alert", "Critical", "Error", "Warning", "Notice",
              "Informational", "Debug"]

_NOISE = [1 / (k + 1) ** 0.7 for k in range(len(RULES))]  # a few noisy rules, a long tail

BROAD: list[dict[str, Any]] = [
    {"rule": ["Terminal shell in container", "Run shell untrusted"], "priority": ">=notice"},
    {"rule": "Read sensitive file *", "fields": {"k8s.ns.name": {"not_in": ["dev"]}}},
    {"priority": ">=error", "source": "syscall",
     "fields": {"k8s.ns.name": {"glob": "*-prod"}}},
    {"tags": {"all": ["container"], "any": ["mitre_exfiltration", "mitre_command_and_control"],
              "none": ["host"]}},
    {"fields": {"proc.cmdline": {"regex": r"(curl|wget) .*https?://"}}},
    {"rule": "Write below *", "fields": {"user.uid": 0}},
    {"source": "k8s_audit", "priority": ["Warning", "Error"]},
    {"fields": {"proc.name": ["nc", "ncat", "socat"], "container.id": {"exists": True}}},
    {"rule": "Launch * in Container", "fields": {"fd.name": {"prefix": ["/etc/", "/root/"]}}},
    {"tags": ["mitre_privilege_escalation"], "priority": ">=warning"},
]


def _pod(rng: random.Random, namespace: str) -> tuple[str, str]:
    app = rng.choice(APPS)
    return app, f"{namespace.split('-')[0]}-{app}-{rng.randrange(16**5):05x}-{rng.randrange(36**5):05x}"


def alert(rng: random.Random, i: int) -> dict[str, Any]:
    rule, priority, source, tags = rng.choices(RULES, _NOISE)[0]
    if rng.random() < 0.1:  # operators tune priorities in their own copies of the rules
        priority = rng.choice(PRIORITIES[2:7])
    namespace = rng.choice(NAMESPACES)
    app, pod = _pod(rng, namespace)
    user, uid = rng.choice(USERS)
    fields: dict[str, Any] = {"evt.time": 1764600000_000000000 + i * 1_000_003}
    if source == "k8s_audit":
        fields.update({"ka.user.name": rng.choice(["system:admin", f"{user}@acme.io",
                                                   "system:serviceaccount:ci:deployer"]),
                       "ka.verb": rng.choice(["create", "get", "patch"]),
                       "ka.target.namespace": namespace, "ka.target.name": pod,
                       "ka.target.resource": rng.choice(["pods", "secrets", "services"]),
                       "ka.uri.param[command]": rng.choice(["sh", "bash", None])})
    else:
        cmd = rng.choice(CMDLINES).replace("{ip}", f"203.0.113.{rng.randrange(1, 255)}")
        fields.update({
            "k8s.ns.name": namespace, "k8s.pod.name": pod,
            "container.id": f"{rng.randrange(16**12):012x}",
            "container.image.repository": rng.choice(REPOSITORIES),
            "proc.name": cmd.split()[0] if rng.random() < 0.7 else rng.choice(PROCS),
            "proc.pname": rng.choice(PARENTS), "proc.aname[2]": rng.choice(PARENTS),
            "proc.cmdline": cmd, "user.name": user, "user.uid": uid,
            "user.loginuid": -1 if rng.random() < 0.8 else uid,
        })
        if "filesystem" in tags or rng.random() < 0.2:
            fields["fd.name"] = rng.choice(FILES)
        if rng.random() < 0.05:
            fields["k8s.pod.name"] = None  # Falco's "not available"
    return {"time": "2026-12-01T20:00:00.%09dZ" % (i % 10**9), "rule": rule,
            "priority": priority, "source": source, "tags": sorted(tags),
            "hostname": rng.choice(NODES), "output": f"{priority} {rule} (pod={pod})",
            "output_fields": fields}


def alerts(count: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    return [json.dumps(alert(rng, i)).encode() for i in range(count)]


def _rule(rng: random.Random) -> str | list[str]:
    """Every scoped response names rules: one or two exact names, or a family's glob."""
    kind = rng.randrange(4)
    if kind == 0:
        return rng.choice(RULES)[0]
    if kind == 1:
        return [r[0] for r in rng.sample(RULES, 2)]
    return rng.choice(RULE_GLOBS)


def _selective(rng: random.Random, kind: int) -> tuple[str, Any]:
    """One of the field conditions that narrow a scoped response (besides its namespace)."""
    if kind == 0:
        return "container.image.repository", rng.choice(REPOSITORIES)
    if kind == 1:
        return "k8s.pod.name", {"prefix": f"{rng.choice(NAMESPACES).split('-')[0]}-{rng.choice(APPS)}-"}
    if kind == 2:
        return "proc.name", rng.sample(PROCS, rng.randint(1, 2))
    if kind == 3:
        return "user.name", rng.choice(USERS)[0]
    if kind == 4:
        return "fd.name", {"glob": rng.choice(["/etc/*", "/root/.ssh/*", "*/credentials",
                                               "/dev/shm/*", "/home/*/.bash*"])}
    if kind == 5:
        return "proc.cmdline", {"regex": rng.choice([r"\bnc\b.*-e", r"base64 -d", r"pty\.spawn",
                                                     r"kubectl .*secrets", r":4444\b"])}
    return "container.image.repository", {"prefix": rng.choice(REGISTRIES) + "/" + rng.choice(IMAGES)}


def _loose(rng: random.Random) -> tuple[str, Any]:
    """Conditions most alerts pass: they cost evaluation, not matches."""
    kind = rng.randrange(5)
    if kind == 0:
        return "user.uid", {"not_in": [rng.choice(USERS)[1]]}
    if kind == 1:
        return "container.id", {"exists": True}
    if kind == 2:
        return "k8s.pod.name", {"glob": "*-*"}
    if kind == 3:
        return "proc.pname", {"not_in": ["kubelet", "systemd-journal"]}
    return "proc.aname[2]", {"exists": True}


def scoped(rng: random.Random) -> dict[str, Any]:
    match: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    ns = rng.sample(NAMESPACES, rng.choice([1, 1, 1, 2]))
    fields["k8s.ns.name"] = ns[0] if len(ns) == 1 else ns
    match["rule"] = _rule(rng)
    key, cond = _selective(rng, rng.randrange(7))
    fields[key] = cond
    for _ in range(rng.randint(0, 2)):
        key, cond = _loose(rng)
        fields.setdefault(key, cond)
    if rng.random() < 0.4:
        match["priority"] = rng.choice([">=notice", ">=warning", ">error", "<critical",
                                        ["Warning", "Error", "Critical"], "warning"])
    if rng.random() < 0.2:
        match["source"] = "syscall"
    if rng.random() < 0.25:
        match["tags"] = rng.choice([["container"], {"any": ["process", "filesystem"]},
                                    {"none": ["host"]}, {"all": ["container"], "none": ["k8s"]}])
    while len(fields) > 5:
        fields.pop(next(k for k in fields if k != "k8s.ns.name"))
    match["fields"] = fields
    return match


def config(count: int, action: str = "noop", seed: int = 7,
           cooldown: str | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    matches = [dict(m) for m in BROAD[:count]] + [scoped(rng) for _ in range(count - len(BROAD))]
    responses = []
    for i, match in enumerate(matches):
        response: dict[str, Any] = {"name": f"r{i}", "match": match, "actions": [{"type": action}]}
        if cooldown is not None:
            response["cooldown"] = {"for": cooldown}
        responses.append(response)
    return {"version": 1, "responses": responses}
