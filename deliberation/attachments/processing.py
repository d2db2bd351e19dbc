"""Turning an uploaded file into what is stored: pure functions, bytes in, bytes out (no Flask, no DB).

The kind is decided from the content alone (its signature, then a full decode), never from the
name or the browser's claim. Images are decoded and re-encoded, which drops EXIF (GPS included),
any trailing data and anything else hidden in the file; PDFs are kept as uploaded, after checking
they open, with their page count.
"""

from __future__ import annotations

import contextlib
import io
import threading
import unicodedata
import warnings
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from ..errors import ValidationError

try:  # A PDF's first page as a thumbnail: PDFium, shipped inside the pypdfium2 wheel (no service).
    import pypdfium2

    PDF_THUMBNAILS = True
except ImportError:  # pragma: no cover - the pinned requirements include it
    PDF_THUMBNAILS = False
# PDFium must not be called from two threads at once (the server runs many threads).
_PDFIUM = threading.Lock()

try:  # HEIC (iPhone photos) needs libheif, which pillow-heif ships in its wheels.
    from pillow_heif import register_heif_opener

    register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - the pinned requirements include it
    HEIC_SUPPORTED = False

DISPLAY_BOX = 1920  # long side of the version shown full size (and on a 1920x1080 projector)
THUMB_BOX = 320  # long side of the gallery thumbnail (about 160 CSS px on a 2x phone screen)
NAME_MAX = 120

IMAGE_KINDS = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heic": "HEIF"}
HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
# Markers a browser or another reader would act on if it sniffed the file as something else.
ACTIVE_MARKERS = (b"<html", b"<script", b"<?php", b"<svg", b"<!doctype", b"<body", b"<iframe", b"<?xml")
ZIP_END = b"PK\x05\x06"  # a ZIP directory: the file would also open as a ZIP (or JAR)
PDF_MARK = b"%PDF-"


@dataclass
class Variant:
    data: bytes
    mimetype: str


@dataclass
class Processed:
    kind: str  # "image" or "pdf"
    source_format: str  # jpeg, png, webp, heic, pdf
    name: str  # the cleaned display name, with the extension of what it really is
    variants: dict[str, Variant] = field(default_factory=dict)  # display, display_fallback, thumb, thumb_fallback
    width: int | None = None
    height: int | None = None
    page_count: int | None = None


def sniff(data: bytes) -> str | None:
    """The kind of file by its signature at offset 0, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "heic"
    if data[:5] == PDF_MARK:
        return "pdf"
    return None


def is_polyglot(data: bytes, kind: str) -> bool:
    """True when the file is also another kind of file: a page or script a browser would run,
    a PDF header where PDF readers look for it, or a ZIP directory at the end."""
    head = data[:1024].lower()
    if any(marker in head for marker in ACTIVE_MARKERS):
        return True
    if kind != "pdf" and PDF_MARK.lower() in head:
        return True
    return ZIP_END in data[-65557:]


def clean_name(raw: str | None) -> str:
    """The name shown for the file. Path separators and control characters are refused rather
    than quietly changed, so the person knows which file was meant."""
    name = (raw or "").strip()
    if not name:
        return ""
    if "/" in name or "\\" in name or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise ValidationError(_l("The file name contains a slash, a backslash or invisible control characters. "
                                 "Please rename the file and choose it again."), field="file")
    if name in (".", ".."):
        raise ValidationError(_l("Please give the file a real name."), field="file")
    return name[:NAME_MAX]


def _named(name: str, extension: str) -> str:
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return f"{stem or 'file'}.{extension}"


def process(data: bytes, raw_name: str | None, *, max_bytes: int, max_pixels: int) -> Processed:
    """Check and convert one upload, or raise ValidationError (field "file") saying why not."""
    name = clean_name(raw_name)
    if not data:
        raise ValidationError(_l("The file is empty (0 bytes). Please choose the file again."), field="file")
    if len(data) > max_bytes:
        raise ValidationError(_l("The file is too large: at most %(mb)d MB each.", mb=max_bytes // (1024 * 1024)),
                              field="file")
    kind = sniff(data)
    if kind is None:
        raise ValidationError(_l("This is not a photo (JPEG, PNG, WebP, HEIC) or a PDF, whatever its name says. "
                                 "Nothing was added."), field="file")
    if is_polyglot(data, kind):
        raise ValidationError(_l("This file is also another kind of file at once (it hides a web page, a "
                                 "script, a PDF or a ZIP archive), so it was refused. Please save it again "
                                 "as a plain photo or PDF."), field="file")
    if kind == "pdf":
        return _process_pdf(data, name)
    if kind == "heic" and not HEIC_SUPPORTED:  # pragma: no cover - see the import above
        raise ValidationError(_l("HEIC photos cannot be read here. Please send the photo as JPEG."), field="file")
    return _process_image(data, name, kind, max_pixels=max_pixels)


def _damaged_image() -> ValidationError:
    return ValidationError(_l("The photo is damaged or incomplete (perhaps the upload was cut off). "
                              "Please choose it again."), field="file")


def _process_image(data: bytes, name: str, kind: str, *, max_pixels: int) -> Processed:
    too_large = ValidationError(_l("The picture has too many pixels to open safely (at most %(mp)d million). "
                                   "Please send a smaller version.", mp=max_pixels // 1_000_000), field="file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            # Only the header has been read: refuse a decompression bomb before decoding it.
            if image.width * image.height > max_pixels:
                raise too_large
            if image.format != IMAGE_KINDS[kind]:
                raise _damaged_image()
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_large from None
    except ValidationError:
        raise
    except (OSError, SyntaxError, ValueError, EOFError):  # what Pillow raises for broken files
        raise _damaged_image() from None
    with contextlib.suppress(OSError, ValueError, SyntaxError):  # a broken orientation tag: keep it as stored
        image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    width, height = image.size
    variants: dict[str, Variant] = {}
    for label, box in (("display", DISPLAY_BOX), ("thumb", THUMB_BOX)):
        copy = image.copy()
        copy.thumbnail((box, box), Image.Resampling.LANCZOS)
        if label == "display":
            width, height = copy.size
        # Saved with no exif, xmp or icc arguments: none of the original's metadata survives.
        variants[label] = Variant(_encode(copy, "WEBP", quality=80, method=4), "image/webp")
        if has_alpha:
            variants[f"{label}_fallback"] = Variant(_encode(copy, "PNG", optimize=True), "image/png")
        else:
            variants[f"{label}_fallback"] = Variant(_encode(copy, "JPEG", quality=85, optimize=True,
                                                            progressive=True), "image/jpeg")
    return Processed(kind="image", source_format=kind, name=_named(name or "photo", "webp"), variants=variants,
                     width=width, height=height)


def _encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _process_pdf(data: bytes, name: str) -> Processed:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    damaged = ValidationError(_l("The PDF is damaged or incomplete and cannot be opened. Please choose it "
                                 "again."), field="file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise ValidationError(_l("The PDF is locked with a password. Please send a copy without one."),
                                      field="file")
            pages = len(reader.pages)
    except ValidationError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError, AttributeError, IndexError, RecursionError):
        raise damaged from None
    if pages < 1:
        raise damaged
    variants = {"display": Variant(data, "application/pdf")}
    first = _first_page(data)
    if first is not None:
        variants["thumb"] = Variant(_encode(first, "WEBP", quality=80, method=4), "image/webp")
        variants["thumb_fallback"] = Variant(_encode(first, "JPEG", quality=85, optimize=True), "image/jpeg")
    return Processed(kind="pdf", source_format="pdf", name=_named(name or "document", "pdf"),
                     variants=variants, page_count=pages,
                     width=first.width if first is not None else None,
                     height=first.height if first is not None else None)


def _first_page(data: bytes) -> Image.Image | None:
    """The first page drawn at thumbnail size, or None when it cannot be drawn (the PDF is still
    taken: pypdf read it, and a missing thumbnail only shows a plain document icon)."""
    if not PDF_THUMBNAILS:  # pragma: no cover
        return None
    with _PDFIUM:
        try:
            document = pypdfium2.PdfDocument(data)
            try:
                page = document[0]
                width, height = page.get_size()
                if not (width > 0 and height > 0):
                    return None
                image = page.render(scale=THUMB_BOX / max(width, height)).to_pil()
                page.close()
            finally:
                document.close()
        except (pypdfium2.PdfiumError, ValueError, OSError):
            return None
    return image.convert("RGB")
