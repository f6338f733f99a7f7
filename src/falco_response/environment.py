"""Every environment variable falco-response reads: one list, so the reference page is made
from it (``docs/gen_reference.py``) and a test fails when a module reads one that is not here.

These are public interface: a name keeps its meaning across releases. Modules import the
constants below instead of spelling the names again.
"""

from __future__ import annotations

from typing import NamedTuple


class Variable(NamedTuple):
    """One environment variable: what reads it, its default and what it means."""

    name: str
    default: str
    used_by: str
    description: str


CONFIG = "FALCO_RESPONSE_CONFIG"
DRY_RUN = "FALCO_RESPONSE_DRY_RUN"
LOG_LEVEL = "FALCO_RESPONSE_LOG_LEVEL"
DISABLE_PLUGINS = "FALCO_RESPONSE_DISABLE_PLUGINS"
STORE = "FALCO_RESPONSE_STORE"
IDEMPOTENCY_TTL = "FALCO_RESPONSE_IDEMPOTENCY_TTL"
IDEMPOTENCY_NAMESPACE = "FALCO_RESPONSE_IDEMPOTENCY_NAMESPACE"
HOST = "FALCO_RESPONSE_HOST"
PORT = "FALCO_RESPONSE_PORT"
QUEUE = "FALCO_RESPONSE_QUEUE"
TOKENS = "FALCO_RESPONSE_TOKENS"
REDIS_PASSWORD = "FALCO_RESPONSE_REDIS_PASSWORD"
REDIS_CA_FILE = "FALCO_RESPONSE_REDIS_CA_FILE"
REDIS_CERT_FILE = "FALCO_RESPONSE_REDIS_CERT_FILE"
REDIS_KEY_FILE = "FALCO_RESPONSE_REDIS_KEY_FILE"
NATS_TOKEN = "FALCO_RESPONSE_NATS_TOKEN"
NATS_USER = "FALCO_RESPONSE_NATS_USER"
NATS_PASSWORD = "FALCO_RESPONSE_NATS_PASSWORD"
NATS_CREDS = "FALCO_RESPONSE_NATS_CREDS"
NATS_NKEY_SEED = "FALCO_RESPONSE_NATS_NKEY_SEED"
NATS_CA_FILE = "FALCO_RESPONSE_NATS_CA_FILE"
NATS_CERT_FILE = "FALCO_RESPONSE_NATS_CERT_FILE"
NATS_KEY_FILE = "FALCO_RESPONSE_NATS_KEY_FILE"
APPROVAL_SWEEP = "FALCO_RESPONSE_APPROVAL_SWEEP"
SLACK_SIGNING_SECRET = "SLACK_SIGNING_SECRET"
OPERATORS_FILE = "FALCO_RESPONSE_OPERATORS_FILE"
CONSOLE_SECRET = "FALCO_RESPONSE_CONSOLE_SECRET"

VARIABLES: tuple[Variable, ...] = (
    Variable(CONFIG, "unset (Lambda: `falco-response.yaml` in the code directory)",
             "every command that takes `--config`; the Lambda handler",
             "The config file when `--config` is not given. On Lambda also "
             "`ssm:/parameter/name`: an SSM (Secure)String parameter holding the YAML."),
    Variable(DRY_RUN, "unset", "the engine (every way of running it)",
             "`1`/`true`/`yes`/`on`: every action runs as a dry run, whatever the config "
             "says; `0`/`false`/`no`/`off`/empty: the config decides. Any other value is a "
             "start-up error (exit 3), never a live run."),
    Variable(LOG_LEVEL, "the config's `settings.log_level`",
             "the CLI, `serve`, `consume`, the Lambda handler",
             "`debug`, `info`, `warning` or `error` (any other value is a start-up error, "
             "exit 3). Logs are JSON lines on stderr."),
    Variable(DISABLE_PLUGINS, "unset", "the plugin manager (every way of running it)",
             "Comma-separated plugin names not to load: entry-point names such as `slack`, "
             "or a built-in's short name such as `log_action`."),
    Variable(STORE, "`settings.store`, else `memory://`", "the Lambda handler",
             "The state store URL (`memory://`, `sqlite:///path`, `dynamodb://table`, "
             "`redis://host:6379/0`); "
             "`none` turns idempotency off."),
    Variable(IDEMPOTENCY_TTL, "`24h`", "the Lambda handler",
             "How long an idempotency claim lives: seconds, or `30m`, `24h`, `7d`."),
    Variable(IDEMPOTENCY_NAMESPACE, "`$AWS_LAMBDA_FUNCTION_NAME`", "the Lambda handler",
             "Prefix of the idempotency keys, so functions sharing a table do not suppress "
             "each other."),
    Variable(HOST, "`127.0.0.1`", "`serve`", "The address to listen on (`--host`)."),
    Variable(PORT, "`8080`", "`serve`", "The port to listen on (`--port`)."),
    Variable(QUEUE, "`falco-response-queue.db`", "`serve`",
             "The SQLite file of the durable intake queue (`--queue`), relative to the current "
             "directory; its directory must exist."),
    Variable(TOKENS, "unset", "`serve`",
             "Bearer tokens accepted, comma-separated (the default of `--token-env`)."),
    Variable(REDIS_PASSWORD, "unset", "the `redis://` store",
             "The Redis/Valkey password when the store URL has none."),
    Variable(REDIS_CA_FILE, "the system's CAs", "the `rediss://` store",
             "CA bundle that verifies the Redis server's certificate."),
    Variable(REDIS_CERT_FILE, "unset", "the `rediss://` store",
             "Client certificate (PEM) for mutual TLS with Redis."),
    Variable(REDIS_KEY_FILE, "unset", "the `rediss://` store",
             "The client certificate's private key."),
    Variable(NATS_TOKEN, "unset", "`consume nats://`", "NATS token authentication."),
    Variable(NATS_USER, "unset", "`consume nats://`", "NATS user (with the password below)."),
    Variable(NATS_PASSWORD, "unset", "`consume nats://`", "The NATS user's password."),
    Variable(NATS_CREDS, "unset", "`consume nats://`",
             "A NATS `.creds` file (user JWT and NKey seed)."),
    Variable(NATS_NKEY_SEED, "unset", "`consume nats://`", "A file holding an NKey seed."),
    Variable(NATS_CA_FILE, "the system's CAs", "`consume nats://`",
             "CA bundle that verifies the NATS server (TLS)."),
    Variable(NATS_CERT_FILE, "unset", "`consume nats://`",
             "Client certificate (PEM) for mutual TLS with NATS."),
    Variable(NATS_KEY_FILE, "unset", "`consume nats://`",
             "The client certificate's private key."),
    Variable(APPROVAL_SWEEP, "`10s`", "`serve`",
             "How often a replica tries the approval sweeper's lease (timeouts, decisions "
             "not yet carried out): a duration such as `10s`."),
    Variable(SLACK_SIGNING_SECRET, "unset", "`serve` (`POST /slack/interactions`), the "
             "Lambda handler", "The Slack app's signing secret: Approve/Deny clicks are "
             "refused (401) without it. Never logged."),
    Variable(OPERATORS_FILE, "unset", "`console`, `serve --console-port`",
             "The operators file (`NAME ROLE [TOKEN]` lines) when `--operators` is not "
             "given."),
    Variable(CONSOLE_SECRET, "a random secret per process", "`console`, "
             "`serve --console-port`",
             "Signs the console's session cookies and CSRF tokens; set the same value on "
             "every replica so a session works on any of them."),
)

FOREIGN: tuple[Variable, ...] = (
    Variable("COLUMNS", "the terminal's width", "`replay`",
             "The width the `replay` table fits (its reason column is cut to fit); unset and "
             "not a terminal: nothing is cut."),
    Variable("LAMBDA_TASK_ROOT", "set by Lambda", "the Lambda handler",
             "The code directory: where relative config paths and the plugin manifest are "
             "read."),
    Variable("AWS_LAMBDA_FUNCTION_NAME", "set by Lambda", "the Lambda handler",
             "The default idempotency namespace."),
    Variable("AWS_REGION", "set by Lambda", "`consume`, the EKS connection",
             "The AWS region, when not given otherwise."),
    Variable("AWS_DEFAULT_REGION", "unset", "`consume`, the EKS connection",
             "The AWS region, when `AWS_REGION` is unset."),
    Variable("KUBECONFIG", "`~/.kube/config`", "the Kubernetes plugins",
             "The kubeconfig file, outside a cluster, when the action's `cluster` does not "
             "name one."),
    Variable("KUBERNETES_SERVICE_HOST", "set by Kubernetes", "the Kubernetes plugins",
             "Its presence means in-cluster: the pod's service account is used."),
)
"""Variables others define (AWS, Kubernetes) that falco-response reads."""

NAMES = frozenset(v.name for v in VARIABLES + FOREIGN)
