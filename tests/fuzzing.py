"""Mutated payloads from tests/data/samples, deterministic, for fuzz runs of every entry point."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

from .conftest import SAMPLES

ODD_VALUES: list[Any] = [None, 0, -1, 2**70, 1.5e308, "", "\x00", "\u202e", "<!channel>",
                         "a" * 5000, [], {}, [1, {"a": None}], True, "Critical", "info",
                         "2026-11-26T20:00:00Z", "9999-99-99T99:99:99Z"]


def _mutate_json(value: Any, rng: random.Random, depth: int = 0) -> Any:
    if isinstance(value, dict) and value:
        value = dict(value)
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.25:
            del value[key]
        elif roll < 0.6:
            value[key] = rng.choice(ODD_VALUES)
        elif roll < 0.8 and depth < 4:
            value[key] = _mutate_json(value[key], rng, depth + 1)
        else:
            value[rng.choice(["rule", "priority", "time", "output_fields", "Records", "body",
                              "detail", "Type", "Message", "tags", "source"])] = \
                rng.choice(ODD_VALUES)
        return value
    if isinstance(value, list) and value:
        value = list(value)
        i = rng.randrange(len(value))
        value[i] = _mutate_json(value[i], rng, depth + 1) if rng.random() < 0.7 else None
        return value
    if isinstance(value, str) and value.startswith("{") and depth < 4:
        try:
            return json.dumps(_mutate_json(json.loads(value), rng, depth + 1))
        except ValueError:
            return value
    return rng.choice(ODD_VALUES)


def _mutate_bytes(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.3 and data:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif roll < 0.5 and data:
            del data[rng.randrange(len(data))]
        elif roll < 0.7:
            data.insert(rng.randrange(len(data) + 1), rng.choice(b'{}[]",:\\\xff\x00'))
        else:
            data = data[: rng.randrange(len(data) + 1)]
    return bytes(data)


def mutated_payloads(count: int, seed: int = 1234) -> Iterator[Any]:
    """``count`` payloads: mutated JSON objects, their text, and byte-level mutations."""
    rng = random.Random(seed)
    samples = [json.loads(p.read_text()) for p in sorted(SAMPLES.glob("*.json"))]
    for i in range(count):
        sample = samples[i % len(samples)]
        mutated = sample
        for _ in range(rng.randint(1, 3)):
            mutated = _mutate_json(mutated, rng)
        kind = i % 3
        if kind == 0:
            yield mutated
        elif kind == 1:
            yield json.dumps(mutated)
        else:
            yield _mutate_bytes(json.dumps(sample).encode(), rng)
