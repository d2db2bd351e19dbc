"""Files for attachment tests, made on the fly: photos with EXIF and GPS, HEIC, PDFs, and the
bad ones (a decompression bomb, a truncated JPEG, a polyglot)."""

from __future__ import annotations

import functools
import io
import struct
import zlib

from PIL import Image


def jpeg_with_gps(size=(200, 100), orientation: int = 6) -> bytes:
    """A JPEG carrying camera EXIF, a GPS position and an orientation tag (6: rotate 90°)."""
    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(size[0] // 2):  # a marker in the left half, to check the rotation
        for y in range(10):
            image.putpixel((x, y), (0, 0, 255))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = orientation
    gps = {1: "N", 2: (31.0, 13.0, 50.0), 3: "E", 4: (121.0, 28.0, 10.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def png(size=(120, 80), alpha: bool = False) -> bytes:
    image = Image.new("RGBA" if alpha else "RGB", size, (10, 120, 60, 128) if alpha else (10, 120, 60))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def webp(size=(90, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (40, 40, 160)).save(out, "WEBP")
    return out.getvalue()


def heic(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (100, 100, 20)).save(out, "HEIF")
    return out.getvalue()


def pdf(pages: int = 3) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@functools.cache
def png_bomb(side: int = 20_000) -> bytes:
    """A real side×side greyscale PNG: a few hundred KB that would decode to side² bytes."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\x00" * side
    parts = [compressor.compress(row * 500) for _ in range(side // 500)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    whole = jpeg_with_gps((400, 300))
    return whole[: len(whole) // 2]


def polyglot() -> bytes:
    """A valid JPEG that also opens as a PDF: a PDF header in a comment within the first KB."""
    image = jpeg_with_gps()
    comment = b"%PDF-1.4\n1 0 obj << >> endobj\n"
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return image[:2] + segment + image[2:]


def executable() -> bytes:
    return b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200
