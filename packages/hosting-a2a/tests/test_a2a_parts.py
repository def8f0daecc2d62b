"""A2A parts to neutral parts and back: every kind in, every kind out, and the refusals."""

from __future__ import annotations

import base64
import json

import pytest
from a2a.types import ContentTypeNotSupportedError, InvalidParamsError, Part

from hosting.a2a._parts import DEFAULT_INPUT_MODES, data_part, parts_in, parts_out
from hosting.core import FilePart, ImagePart, Limits, TextPart

LIMITS = Limits()


def test_each_kind_of_part_in() -> None:
    data = data_part({"n": 2, "ratio": 0.5, "tags": ["a", 1]})
    parts = [
        Part(text="hello"),
        data,
        Part(raw=b"\x00\x01", media_type="image/png"),
        Part(raw=b"%PDF", media_type="application/pdf", filename="a.pdf"),
        Part(url="https://example.org/cat.jpg", media_type="image/jpeg"),
        Part(url="https://example.org/a.pdf", media_type="application/pdf", filename="a.pdf"),
    ]
    text, as_json, image, pdf, image_url, pdf_url = parts_in(
        parts, accepted=DEFAULT_INPUT_MODES, limits=LIMITS
    )
    assert text == TextPart("hello")
    assert isinstance(as_json, TextPart)
    assert json.loads(as_json.text) == {"n": 2, "ratio": 0.5, "tags": ["a", 1]}
    assert '"n":2' in as_json.text  # integral numbers are integers again
    assert image == ImagePart(url="data:image/png;base64,AAE=")
    assert pdf == FilePart(
        data="data:application/pdf;base64," + base64.b64encode(b"%PDF").decode(), filename="a.pdf"
    )
    assert image_url == ImagePart(url="https://example.org/cat.jpg")
    assert pdf_url == FilePart(url="https://example.org/a.pdf", filename="a.pdf")


@pytest.mark.parametrize(
    ("accepted", "media_type", "taken"),
    [
        (("image/*",), "image/tiff", True),
        (("*/*",), "audio/wav", True),
        (("image/png",), "image/png; charset=binary", True),
        (("image/png",), "image/jpeg", False),
        (DEFAULT_INPUT_MODES, "audio/wav", False),
    ],
)
def test_media_types_are_matched_with_families(
    accepted: tuple[str, ...], media_type: str, taken: bool
) -> None:
    part = Part(raw=b"x", media_type=media_type)
    if taken:
        assert len(parts_in([part], accepted=accepted, limits=LIMITS)) == 1
    else:
        with pytest.raises(ContentTypeNotSupportedError, match="not supported"):
            parts_in([part], accepted=accepted, limits=LIMITS)


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ([], "at least one part"),
        ([Part()], "no content"),
        ([Part(raw=b"x")], "mediaType"),
        ([Part(text="x" * 11)], "longer than 10"),
        ([Part(text="a"), Part(text="b"), Part(text="c")], "at most 2 parts"),
    ],
)
def test_parts_that_cannot_be_taken_are_invalid_params(parts: list[Part], message: str) -> None:
    limits = Limits(max_text_chars=10, max_input_items=2)
    with pytest.raises(InvalidParamsError, match=message):
        parts_in(parts, accepted=DEFAULT_INPUT_MODES, limits=limits)


def test_each_kind_of_part_out() -> None:
    out = parts_out(
        [
            TextPart("hi"),
            ImagePart(url="data:image/png;base64,AAE="),
            ImagePart(url="https://example.org/cat.jpg"),
            FilePart(data="data:application/pdf;base64,JVBERg==", filename="a.pdf"),
            FilePart(data=base64.b64encode(b"bare").decode()),
            FilePart(url="https://example.org/a.pdf", filename="a.pdf"),
            FilePart(file_id="file_123"),
        ]
    )
    assert out[0].text == "hi"
    assert (out[1].raw, out[1].media_type) == (b"\x00\x01", "image/png")
    assert out[2].url == "https://example.org/cat.jpg"
    assert (out[3].raw, out[3].media_type, out[3].filename) == (b"%PDF", "application/pdf", "a.pdf")
    assert (out[4].raw, out[4].media_type) == (b"bare", "application/octet-stream")
    assert (out[5].url, out[5].filename) == ("https://example.org/a.pdf", "a.pdf")
    assert out[6].data.struct_value["file_id"] == "file_123"


def test_parts_round_trip_through_the_neutral_form() -> None:
    sent = [Part(text="t"), Part(raw=b"\x01\x02", media_type="image/gif")]
    back = parts_out(parts_in(sent, accepted=DEFAULT_INPUT_MODES, limits=LIMITS))
    assert back[0].text == "t"
    assert (back[1].raw, back[1].media_type) == (b"\x01\x02", "image/gif")
