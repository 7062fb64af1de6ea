"""A firm's branding: colours checked as hex, logos read from their bytes, text checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from milestonebill.errors import CardNumberError, InvalidInputError, ValidationError
from milestonebill.rendering import Branding, Logo, readable_on
from milestonebill.rendering.branding import MAX_LOGO_BYTES
from milestonebill.testing.documents import SAMPLE_LOGO

PNG = b"\x89PNG\r\n\x1a\n" + bytes(24)
JPEG = b"\xff\xd8\xff\xe0" + bytes(16)
WEBP = b"RIFF\x00\x00\x00\x00WEBPVP8 "


@pytest.mark.parametrize(("given", "stored"), [
    ("#0A3D62", "#0a3d62"), ("#abc", "#aabbcc"), ("#FFF", "#ffffff"),
])
def test_colours_are_kept_as_six_lower_case_hex_digits(given: str, stored: str) -> None:
    b = Branding("Studio", primary_colour=given, accent_colour=given)
    assert (b.primary_colour, b.accent_colour) == (stored, stored)


@pytest.mark.parametrize("bad", ["navy", "#12345", "0a3d62", "#0a3d62;x", "#ggg", "", 0x0A3D62,
                                 "red; background:url(x)"])
def test_a_colour_that_is_not_hex_is_refused_naming_the_field(bad: object) -> None:
    with pytest.raises(ValidationError) as e:
        Branding("Studio", accent_colour=bad)
    assert (e.value.field, e.value.value) == ("accent_colour", bad)


def test_text_on_a_colour_is_black_or_white_whichever_reads_better() -> None:
    assert [readable_on(c) for c in ("#000000", "#1f3a5f", "#c0392b", "#ffe066", "#ffffff")] == [
        "#ffffff", "#ffffff", "#ffffff", "#000000", "#000000"]
    assert Branding("S", primary_colour="#ffe066").on_primary == "#000000"


@pytest.mark.parametrize(("data", "media_type"), [
    (PNG, "image/png"), (JPEG, "image/jpeg"), (b"GIF87a" + bytes(8), "image/gif"),
    (WEBP, "image/webp"), (SAMPLE_LOGO, "image/svg+xml"),
    (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "image/svg+xml"),
])
def test_a_logos_kind_is_read_from_its_bytes(data: bytes, media_type: str) -> None:
    assert Logo.of(data).media_type == media_type
    assert Branding("S", logo=data).logo == Logo(data, media_type)


def test_a_logo_can_be_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "logo.jpg"  # the name says JPEG; the bytes say PNG
    path.write_bytes(PNG)
    assert Branding("S", logo=path).logo == Logo(PNG, "image/png")
    assert Branding("S", logo=str(path)).logo == Logo(PNG, "image/png")


def test_a_logo_is_embedded_as_a_data_uri() -> None:
    assert Logo.of(PNG).data_uri() == (
        "data:image/png;base64,iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7", b"<html><script>", b"plain text"])
def test_bytes_that_are_no_image_we_take_are_refused(data: bytes) -> None:
    with pytest.raises(ValidationError) as e:
        Logo.of(data)
    assert e.value.field == "logo"


def test_a_logo_must_say_what_its_bytes_are() -> None:
    with pytest.raises(ValidationError) as e:
        Logo(PNG, "image/svg+xml")
    assert e.value.field == "logo.media_type"


def test_a_logo_too_large_to_embed_in_every_document_is_refused(tmp_path: Path) -> None:
    big = PNG + bytes(MAX_LOGO_BYTES)
    with pytest.raises(ValidationError, match="at most"):
        Logo.of(big)
    path = tmp_path / "big.png"
    path.write_bytes(big)
    with pytest.raises(ValidationError, match="at most"):
        Logo.of(path)


def test_a_missing_logo_file_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as e:
        Branding("S", logo=tmp_path / "nope.png")
    assert (e.value.field, e.value.value) == ("logo", str(tmp_path / "nope.png"))


def test_every_text_problem_is_reported_at_once() -> None:
    with pytest.raises(InvalidInputError) as e:
        Branding("  ", address=("ok", "bad\x00"), footer=7)  # type: ignore[arg-type]
    assert [p.field for p in e.value.problems] == ["firm_name", "address[1]", "footer"]


def test_a_card_number_in_payment_instructions_is_refused() -> None:
    with pytest.raises(CardNumberError):
        Branding("S", payment_instructions="Pay with 4242 4242 4242 4242")


def test_an_address_given_as_one_string_is_one_line() -> None:
    assert Branding("S", address="1 Main St").address == ("1 Main St",)
