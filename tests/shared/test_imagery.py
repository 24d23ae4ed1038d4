"""Never the image: every form of image data in a text field is refused, and never repeated.

The images are synthetic, built here in code: a solid-colour PNG and the header of a JPEG."""

from __future__ import annotations

import base64
import logging
import struct
import zlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.intake.entrypoint import create_app
from shared.identity import Role
from shared.imagery import find_image_data
from tests.conftest import StoreChoice


def solid_png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (30, 90, 200)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = solid_png()
JPEG_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
GIF_HEADER = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
WEBP_HEADER = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00"
HEIC_HEADER = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"

IMAGE_CARRYING = {
    "data URI": f"data:image/png;base64,{base64.b64encode(PNG).decode()}",
    "data URI of another type": "data:application/octet-stream;base64,"
    + base64.b64encode(PNG).decode(),
    "base64 in words": f"the photo is {base64.b64encode(PNG).decode()} as sent",
    "url-safe base64 without padding": base64.urlsafe_b64encode(JPEG_HEADER).decode().rstrip("="),
    "base64 GIF": base64.b64encode(GIF_HEADER).decode(),
    "base64 WebP": base64.b64encode(WEBP_HEADER).decode(),
    "base64 HEIC": base64.b64encode(HEIC_HEADER).decode(),
    "hex": PNG.hex(),
    "spaced hex": " ".join(f"{b:02X}" for b in JPEG_HEADER),
    "raw bytes": PNG.decode("latin-1"),
    "raw bytes after words": "sent this: " + JPEG_HEADER.decode("latin-1"),
    "link to an image": "it is at https://cdn.example.invalid/u/123/photo.jpeg?dl=1 now",
    "link to a HEIC": "http://example.invalid/IMG_0001.HEIC",
    "SVG markup": '<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
}

HARMLESS = [
    "Student YP-17 says an image was forwarded to a Year 10 group chat at about 21:40.",
    "Seal number A1B2C3D4E5F6A7B8; officer reference 01/23456/26; MASH ref 2026-000123.",
    "Reported to the site hosting it: https://www.example.invalid/report?id=12345",
    "The app was Snapchat; the file name was not known. No adult involved.",
    "deadbeefcafebabe0123456789abcdef",
    "Aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
]


@pytest.mark.parametrize("text", IMAGE_CARRYING.values(), ids=IMAGE_CARRYING.keys())
def test_every_form_of_image_data_is_found(text: str) -> None:
    assert find_image_data(text)


@pytest.mark.parametrize("text", HARMLESS)
def test_words_about_an_image_are_not_image_data(text: str) -> None:
    assert find_image_data(text) is None


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    app = create_app(StoreChoice("sqlite", tmp_path).settings())
    with TestClient(app) as c:
        token = app.state.tokens.issue("staff.a", Role.STAFF, ["OAK"])
        c.headers["Authorization"] = f"Bearer {token}"
        yield c


@pytest.mark.parametrize("text", IMAGE_CARRYING.values(), ids=IMAGE_CARRYING.keys())
def test_intake_refuses_it_with_422_and_keeps_and_repeats_nothing(
    client: TestClient, text: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/cases", json={"school": "OAK", "disclosure_route": "peer", "summary": text}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "summary"]
    assert "never the image" in detail[0]["msg"]
    fragment = text[-12:]
    assert fragment not in response.text
    assert all(fragment not in record.getMessage() for record in caplog.records)
    assert not client.app.state.runtime.app.recorder.max_notification_id()  # type: ignore[attr-defined]


def test_a_file_upload_is_refused(client: TestClient) -> None:
    response = client.post("/cases", files={"file": ("photo.png", PNG, "image/png")})
    assert response.status_code == 422
    assert "PNG" not in response.text
    assert not client.app.state.runtime.app.recorder.max_notification_id()  # type: ignore[attr-defined]
