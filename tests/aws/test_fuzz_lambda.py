"""A fuzz run through the Lambda handler: 10,000 mutated sample events (and alerts sent as
direct invocations). Zero crashes: every answer is a documented response or HandlingFailed
(which makes Lambda retry and, in the end, dead-letter the message), with a reason."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from falco_response import aws_lambda
from falco_response.aws_lambda.handler import HandlingFailed

from ..fuzzing import mutated_payloads
from .conftest import LOG_ALL


def test_ten_thousand_mutated_events_through_the_handler(lambda_env: Any) -> None:
    lambda_env(LOG_ALL, FALCO_RESPONSE_DRY_RUN="1", FALCO_RESPONSE_STORE="none")
    answers: Counter[str] = Counter()
    for payload in mutated_payloads(10_000, seed=99):
        event = payload
        if isinstance(payload, (str, bytes)):
            try:
                event = json.loads(payload)
            except ValueError:
                event = {"body": payload if isinstance(payload, str) else payload.decode(
                    "utf-8", "replace"), "headers": {}, "requestContext": {}}
        try:
            answer = aws_lambda.handler(event, None)
        except HandlingFailed as exc:
            assert str(exc) and "failed" in str(exc)
            answers["retried"] += 1
            continue
        assert isinstance(answer, dict)
        if "batchItemFailures" in answer:
            answers["sqs"] += 1
        elif "statusCode" in answer:
            assert answer["statusCode"] in (200, 422, 500)
            body = json.loads(answer["body"])
            for item in body["results"]:
                assert "error" in item or "outcomes" in item
            answers[f"http {answer['statusCode']}"] += 1
        else:
            assert all("error" in r or "outcomes" in r for r in answer["results"])
            answers["ok"] += 1
    assert answers["retried"] > 100 and answers["ok"] > 100, answers
