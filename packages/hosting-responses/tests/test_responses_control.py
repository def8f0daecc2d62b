"""Run control helpers: idempotency fingerprints and keys, the resume query, live snapshots."""

from __future__ import annotations

import pytest

from hosting.core import InvalidRequestError, Message, TextPart
from hosting.core.channels import OutputItemAdded, OutputItemDone, OutputTextDelta, RunStarted
from hosting.core.stores import ResponseRecord
from hosting.responses import StreamRenderer
from hosting.responses._control import fingerprint, idempotency_key, stream_query
from hosting.testing import strict_response


def test_the_fingerprint_is_stable_and_ignores_key_order_and_stream() -> None:
    one = fingerprint({"model": "m", "input": [{"role": "user", "content": "é"}], "stream": False})
    two = fingerprint({"input": [{"content": "é", "role": "user"}], "stream": True, "model": "m"})
    assert one == two
    assert len(one) == 64
    assert fingerprint({"model": "m", "input": "other"}) != one


def test_idempotency_keys_are_checked() -> None:
    assert idempotency_key({"headers": [(b"accept", b"*/*")]}) is None
    assert idempotency_key({"headers": [(b"idempotency-key", b" order-1 ")]}) == "order-1"
    for bad in ("", "x" * 256, "tab\there"):
        with pytest.raises(InvalidRequestError) as caught:
            idempotency_key({"headers": [(b"idempotency-key", bad.encode())]})
        assert caught.value.param == "Idempotency-Key"


def test_the_resume_query() -> None:
    assert stream_query({}) == (False, -1)
    assert stream_query({"stream": "true"}) == (True, -1)
    assert stream_query({"stream": "true", "starting_after": "7"}) == (True, 7)
    for bad, param in (
        ({"stream": "maybe"}, "stream"),
        ({"stream": "true", "starting_after": "x"}, "starting_after"),
        ({"stream": "true", "starting_after": "-1"}, "starting_after"),
        ({"starting_after": "3"}, "starting_after"),
    ):
        with pytest.raises(InvalidRequestError) as caught:
            stream_query(bad)
        assert caught.value.param == param


def test_a_live_snapshot_shows_the_status_and_finished_items_so_far() -> None:
    created = ResponseRecord(
        id="resp_1", owner="o", created_at=1.0, status="queued", agent="a", background=True
    )
    renderer = StreamRenderer(created)
    assert renderer.snapshot()["status"] == "queued"
    for event in (
        RunStarted("in_progress"),
        OutputItemAdded(0, Message("assistant", (), id="msg_1")),
        OutputTextDelta(0, "msg_1", "done part"),
        OutputItemDone(0, Message("assistant", (TextPart("done part"),), id="msg_1")),
        OutputItemAdded(1, Message("assistant", (), id="msg_2")),
        OutputTextDelta(1, "msg_2", "still going"),
    ):
        renderer.feed(event)
    snapshot = strict_response(renderer.snapshot())
    assert snapshot.status == "in_progress"
    assert [item.to_dict()["id"] for item in snapshot.output] == ["msg_1"]
