from __future__ import annotations

from datetime import timezone

import pytest

from falco_response import Priority
from falco_response.alert import parse_time

from .conftest import make_alert


@pytest.mark.parametrize("text, expected", [
    ("Critical", Priority.CRITICAL), ("critical", Priority.CRITICAL), ("CRITICAL", Priority.CRITICAL),
    ("info", Priority.INFORMATIONAL), ("Informational", Priority.INFORMATIONAL),
    ("Emergency", Priority.EMERGENCY), ("debug", Priority.DEBUG), (" Warning ", Priority.WARNING),
])
def test_priority_parses_any_case(text: str, expected: Priority) -> None:
    assert Priority.parse(text) is expected


@pytest.mark.parametrize("bad", ["Severe", "", "warn", 3, None])
def test_priority_rejects_unknown(bad: object) -> None:
    with pytest.raises(ValueError):
        Priority.parse(bad)  # type: ignore[arg-type]


def test_priority_order_most_severe_is_greatest() -> None:
    order = [Priority.parse(n) for n in ["Emergency", "Alert", "Critical", "Error", "Warning",
                                         "Notice", "Informational", "Debug"]]
    assert order == sorted(order, reverse=True)
    assert Priority.INFORMATIONAL.label == "Informational"


def test_time_keeps_nanoseconds() -> None:
    nanos = parse_time("2023-05-25T13:44:05.478445995Z")
    assert nanos == 1685022245478445995
    assert parse_time("2023-05-25T15:44:05+02:00") == 1685022245000000000
    assert parse_time("2023-05-25T13:44:05.5Z") == 1685022245500000000
    assert parse_time("2023-05-25 13:44:05z") == 1685022245000000000
    assert parse_time("2023-05-25T13:44:05.123456789123+00:00") == 1685022245123456789
    when = make_alert().time
    assert when.tzinfo is timezone.utc and when.microsecond == 589793
    assert when.isoformat() == "2026-03-14T09:26:53.589793+00:00"


def test_alert_is_immutable() -> None:
    alert = make_alert()
    with pytest.raises(AttributeError):
        alert.rule = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        alert.output_fields["k8s.pod.name"] = "x"  # type: ignore[index]


def test_accessors_from_k8s_fields() -> None:
    alert = make_alert()
    assert (alert.pod_namespace, alert.pod_name) == ("checkout", "cart-5d8f7-qp2x")
    assert alert.container_id == "5e1a7c93d20b"
    assert alert.node_name == "worker-3"


def test_accessors_from_audit_target_only_for_pods() -> None:
    fields = {"ka.target.resource": "pods", "ka.target.namespace": "prod", "ka.target.name": "api"}
    alert = make_alert(output_fields=fields, source="k8s_audit")
    assert (alert.pod_namespace, alert.pod_name) == ("prod", "api")
    secret = make_alert(output_fields={**fields, "ka.target.resource": "secrets"})
    assert (secret.pod_namespace, secret.pod_name) == (None, None)


def test_accessors_never_raise_on_absent_or_null() -> None:
    alert = make_alert(output_fields={"k8s.pod.name": None, "container.id": "<NA>"}, hostname=None)
    assert alert.pod_name is None and alert.pod_namespace is None
    assert alert.container_id is None and alert.node_name is None
    assert alert.field("missing") is None


def test_to_dict_round_trips() -> None:
    from falco_response import alert_from_dict

    alert = make_alert(uuid="u-1")
    again = alert_from_dict(alert.to_dict())
    assert again == alert
