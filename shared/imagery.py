"""The product never holds, accepts, previews or forwards an image, in any form.

:func:`find_image_data` looks at a piece of text a user sent and says whether it carries an image
or a link to one: a data URI; base64 or hex that decodes to an image; raw image bytes; a URL of an
image file. Free-text fields refuse such text (:data:`FreeText`), and the refusal never repeats
what was sent.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated

from pydantic import AfterValidator

_DATA_URI = re.compile(r"data:[a-z0-9.+-]*/[a-z0-9.+-]*[^,\s]*,|data:image/", re.IGNORECASE)
_IMAGE_URL = re.compile(
    r"(?:https?|ftp|file)://\S+?\.(?:png|jpe?g|jfif|gif|webp|heic|heif|avif|bmp|tiff?|svg)"
    r"(?:[?#]\S*)?(?=[\s\"')\]>]|$)",
    re.IGNORECASE,
)
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_RUN = re.compile(r"(?:[0-9A-Fa-f]{2}[\s:]?){8,}")
_SVG = re.compile(r"<svg[\s>]", re.IGNORECASE)
# Signatures long enough to look for anywhere in raw text without false alarms.
_RAW_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
_RAW_WEBP = re.compile(rb"RIFF.{4}WEBP", re.DOTALL)


def _is_image(data: bytes) -> bool:
    """Magic numbers of the image formats a phone or a browser produces."""
    return (
        data.startswith(b"\x89PNG\r\n\x1a\n")
        or data.startswith(b"\xff\xd8\xff")  # JPEG
        or data.startswith((b"GIF87a", b"GIF89a"))
        or (data.startswith(b"RIFF") and data[8:12] == b"WEBP")
        or data.startswith((b"II*\x00", b"MM\x00*"))  # TIFF, and raw camera formats on it
        or (data[4:8] == b"ftyp" and data[8:12] in _ISO_IMAGE_BRANDS)  # HEIC, AVIF
        or (data.lstrip().startswith((b"<svg", b"<?xml")) and b"<svg" in data[:512])
    )


_ISO_IMAGE_BRANDS = {
    b"heic",
    b"heix",
    b"hevc",
    b"heim",
    b"heis",
    b"mif1",
    b"msf1",
    b"avif",
    b"avis",
}


def _decoded_base64(run: str) -> bytes | None:
    padded = run + "=" * (-len(run) % 4)
    for decode in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            return decode(padded)
        except (binascii.Error, ValueError):
            continue
    return None


def find_image_data(text: str) -> str | None:
    """Why ``text`` carries an image, or None if it does not."""
    if _DATA_URI.search(text):
        return "a data URI"
    if _IMAGE_URL.search(text):
        return "a link to an image file"
    if _SVG.search(text):
        return "SVG image markup"
    raw = text.encode("latin-1", errors="ignore")
    if any(sig in raw for sig in _RAW_SIGNATURES) or _RAW_WEBP.search(raw) or _is_image(raw):
        return "raw image bytes"
    for match in _BASE64_RUN.finditer(text):
        decoded = _decoded_base64(match.group())
        if decoded and _is_image(decoded):
            return "base64 image data"
    for match in _HEX_RUN.finditer(text):
        digits = re.sub(r"[\s:]", "", match.group())
        if len(digits) % 2 == 0 and _is_image(bytes.fromhex(digits)):
            return "hex image data"
    return None


class ImageDataError(ValueError):
    """Text that carries an image. The message names what was found, never the content."""


def refuse_image_data(text: str) -> str:
    found = find_image_data(text)
    if found:
        msg = (
            f"this field carries {found}; the record holds facts about an image, never the "
            "image or a link to it. Nothing was stored."
        )
        raise ImageDataError(msg)
    return text


FreeText = Annotated[str, AfterValidator(refuse_image_data)]
"""A string from a user that must not carry an image."""
