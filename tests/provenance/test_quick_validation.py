"""jsonschema-rs decides which documents pass GS1's schema (jsonschema only names the
mistakes of those it refuses): it must never let through what jsonschema refuses."""

from __future__ import annotations

import copy
import threading

import pytest
from concord.provenance import validation
from concord_verify import _keccak
from eth_hash.auto import keccak
from hypothesis import given
from hypothesis import strategies as st

from tests.provenance.examples import events_of, example_names, load

BREAKS = [
    ("eventTime", "2024-13-01T10:00:00Z"),  # no 13th month
    ("eventTime", "yesterday"),
    ("eventTime", "2024-01-05T10:00:00"),  # no offset
    ("eventTimeZoneOffset", "+25:00"),
    ("action", "SOMETIMES"),
    ("readPoint", {"id": "not a uri"}),
    ("bizStep", 7),
    ("unknownField", "no prefix"),
    ("type", "MadeUpEvent"),
]


def _agree(document) -> bool:
    quick = validation._quick().is_valid(document)
    thorough = not list(validation._validator().iter_errors(document))
    return quick == thorough


@pytest.mark.parametrize("name", example_names())
def test_both_validators_accept_every_official_example(name):
    document = load(name)
    assert validation._quick().is_valid(document)
    assert _agree(document)


@pytest.mark.parametrize(("field", "value"), BREAKS)
def test_both_validators_refuse_each_broken_event(field, value):
    for name in example_names()[:6]:
        document = copy.deepcopy(load(name))
        events = events_of(document)
        if not events:
            continue
        events[0][field] = value
        assert not validation._quick().is_valid(document), (name, field, value)
        assert _agree(document)


@given(st.binary(max_size=600))
def test_the_direct_keccak_is_eth_hashs(data):
    assert _keccak.keccak256(data) == keccak(data)
    assert _keccak.double_keccak256(data) == keccak(keccak(data))


def test_the_direct_keccak_keeps_one_state_per_thread():
    inputs = [bytes([n]) * (n * 7 % 300) for n in range(200)]
    wrong: list[bytes] = []

    def hash_all() -> None:
        for _ in range(20):
            wrong.extend(data for data in inputs if _keccak.double_keccak256(data) != keccak(keccak(data)))

    threads = [threading.Thread(target=hash_all) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
