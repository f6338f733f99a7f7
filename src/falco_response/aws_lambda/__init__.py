"""Running falco-response on AWS Lambda: the handler (``falco_response.aws_lambda.handler``),
SNS filter policies for a config, and the deployment zip builder.

Importing this package loads no config and imports no AWS SDK: the runtime is built on the
first invocation (once per cold start) and boto3 is imported only for an SSM config or a
DynamoDB store.
"""

from __future__ import annotations

from .handler import HandlingFailed, event_kind, handler, init, reset

__all__ = ["HandlingFailed", "event_kind", "handler", "init", "reset"]
