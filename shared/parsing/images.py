"""Image uploads (PNG, JPEG, TIFF, multi-page TIFF): text by OCR, one page per frame.

Pillow decodes one frame at a time, so a multi-page TIFF costs the memory of its largest frame. Pillow's
decompression-bomb guard (about 179 megapixels) refuses a frame that claims more pixels than any scan needs.
"""

from __future__ import annotations

from .context import ParseContext, describe
from .errors import ParseError
from .ocr import fit_image
from .pdf_doc import write_page
from .pdf_readers import clean_text


def parse_image(ctx: ParseContext) -> None:
    from PIL import Image, ImageOps, UnidentifiedImageError

    session = ctx.ocr
    if session is None:
        raise ParseError("UNSUPPORTED_FORMAT", "Images are read by OCR, and no OCR engine is configured for this "
                         "parse. Upload a PDF with a text layer instead.")
    if ctx.profile == "hybrid":
        ctx.warn("Tables are not extracted from images: the hybrid profile yields the text chunks only.")
    try:
        image = Image.open(ctx.stream)
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError) as exc:
        ctx.fail("CORRUPT_FILE", f"The image could not be decoded ({describe(exc)}). It may be truncated or "
                 "damaged: export it again.", exc)
    writer = ctx.outputs.chunks()
    offset = 0
    frames = getattr(image, "n_frames", 1)
    for number in range(1, frames + 1):
        try:
            image.seek(number - 1)
            # A phone photo stores its rotation in EXIF: OCR needs the upright page.
            frame = fit_image(ImageOps.exif_transpose(image) or image)
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            ctx.fail("CORRUPT_FILE", f"Page {number} of the image could not be decoded ({describe(exc)}).", exc)
        result = session.read(frame, f"page {number}" if frames > 1 else "the image")
        offset = write_page(ctx, writer, number, clean_text(result.text), offset, session.refs(result))
    ctx.page_count = frames
    if writer.count == 0:
        ctx.warn("OCR found no text in the image.")
