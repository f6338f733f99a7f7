"""``serve`` and ``consume`` check what they are given before anything says "serving": one line
on stderr that says what is wrong and how to fix it, the documented exit code, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trustme

from server_helpers import free_port, write_yaml

LOG_ONLY = {"version": 1, "actions": {"note": {"type": "log"}},
            "responses": [{"name": "all", "actions": ["note"]}]}


def run(args: list[str], tmp_path: Path, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    config = write_yaml(tmp_path / "c.yaml", LOG_ONLY)
    environment = {k: v for k, v in (os.environ if env is None else env).items()
                   if not k.startswith("FALCO_RESPONSE_")}
    return subprocess.run([sys.executable, "-m", "falco_response", *args, "-c", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env=environment)


def one_error_line(done: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in done.stderr, done.stderr
    assert "serving" not in done.stderr and "consuming" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, done.stderr
    return errors[0]


def serve_args(tmp_path: Path, *extra: str) -> list[str]:
    return ["serve", "--port", str(free_port()), "--queue", str(tmp_path / "q.db"), *extra]


def test_a_missing_certificate_is_refused_before_serving(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("x")
    done = run(serve_args(tmp_path, "--tls-cert", "/nope.pem", "--tls-key", str(key)), tmp_path)
    assert done.returncode == 2
    assert "--tls-cert /nope.pem: no such file" in one_error_line(done)
    assert not (tmp_path / "q.db").exists()


def test_a_junk_pem_is_refused_before_serving(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    done = run(serve_args(tmp_path, "--tls-cert", str(junk), "--tls-key", str(junk)), tmp_path)
    assert done.returncode == 2
    assert "not a PEM certificate and its private key" in one_error_line(done)


def test_a_junk_client_ca_is_refused_before_serving(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "server.pem"))
    junk = tmp_path / "ca.pem"
    junk.write_text("hello")
    done = run(serve_args(tmp_path, "--tls-cert", str(tmp_path / "server.pem"), "--tls-key",
                          str(tmp_path / "server.pem"), "--client-ca", str(junk)), tmp_path)
    assert done.returncode == 2
    assert "--client-ca" in one_error_line(done) and "not a PEM CA certificate" in done.stderr


def test_a_queue_in_a_missing_directory_is_refused_not_created(tmp_path: Path) -> None:
    queue = tmp_path / "nonexistent" / "dir" / "q.db"
    done = run(["serve", "--port", str(free_port()), "--queue", str(queue)], tmp_path)
    assert done.returncode == 2
    assert f"the directory {queue.parent} does not exist" in one_error_line(done)
    assert not (tmp_path / "nonexistent").exists()


def test_consume_without_aws_credentials_fails_at_start_up(tmp_path: Path) -> None:
    env = {k: "" for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE",
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    env = {k: v for k, v in env.items() if v}
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = run(["consume", "--queue-url", "https://sqs.eu-west-1.amazonaws.com/1/q"], tmp_path,
               env={**base, **env})
    assert done.returncode == 3
    assert "no AWS credentials: set AWS_ACCESS_KEY_ID" in one_error_line(done)


@pytest.mark.parametrize("queue_url", ["http://127.0.0.1:9/1/q"])
def test_consume_without_a_region_says_how_to_give_one(tmp_path: Path, queue_url: str) -> None:
    base = {k: v for k, v in os.environ.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    done = run(["consume", "--queue-url", queue_url], tmp_path,
               env={**base, "AWS_CONFIG_FILE": os.devnull})
    assert done.returncode == 3
    assert "no AWS region: pass --region, set AWS_REGION" in one_error_line(done)
