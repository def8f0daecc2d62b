"""`encode_json`: compact UTF-8 JSON, native-fast, exact for what the native encoder refuses."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math

import pytest

from hosting.core.channels import encode_json


def test_it_writes_compact_utf8_json_that_reads_back_equal() -> None:
    value = {"text": 'héllo \u2028 "quoted"\n', "list": [1, 2.5, None, True, False], "nested": {"a": []}}
    encoded = encode_json(value)
    assert encoded == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    assert json.loads(encoded) == value


def test_integers_beyond_64_bits_come_back_exactly() -> None:
    value = {"maximum": 10**30, "minimum": -(10**25), "inner": [{"n": 2**64}]}
    encoded = encode_json(value)
    assert json.loads(encoded) == value
    assert b"1000000000000000000000000000000" in encoded


@pytest.mark.parametrize("big", [False, True])
def test_nan_and_infinities_become_null(big: bool) -> None:
    value = {"nan": math.nan, "inf": [math.inf, -math.inf], "big": 10**30 if big else 1}
    assert json.loads(encode_json(value)) == {"nan": None, "inf": [None, None], "big": value["big"]}


def test_what_json_cannot_hold_is_refused() -> None:
    with pytest.raises(TypeError):
        encode_json({"value": object()})
    with pytest.raises(UnicodeEncodeError):
        encode_json({"lone": "\ud800"})


def test_values_the_standard_library_refuses_are_refused_here_too() -> None:
    @dataclasses.dataclass
    class Point:
        x: int

    for value in (datetime.datetime(2026, 1, 1), Point(1), {"when": datetime.date(2026, 1, 1)}):
        with pytest.raises(TypeError):
            encode_json(value)

    class Name(str):
        pass

    assert encode_json({"name": Name("ada"), "n": True}) == b'{"name":"ada","n":true}'
