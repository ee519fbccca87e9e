"""Thumbnail uploads: decoded with Pillow (the extension proves nothing), with size and dimension caps.

What is stored is never the uploaded file: the pixels are decoded in full (a truncated or forged image is
refused) and encoded again, so EXIF (GPS position, camera serial) and every other metadata block is left
behind. Each upload gets a new random name: on a bucket, where a name is overwritten rather than
renamed, two creators (or two uploads of one) never share a file, and deleting the old one cannot delete
the new one.
"""

import io
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
_UNREADABLE = "The file is not an image we can read (PNG, JPEG or WebP)."


def thumbnail_name(image_format: str) -> str:
    """A fresh, unguessable file name (128 random bits) for one upload."""
    return f"{secrets.token_hex(16)}.{FORMATS[image_format]}"


def thumbnail_validate(upload: UploadedFile) -> UploadedFile:
    """Return a clean re-encoding of the upload under a new name, or raise ValidationError saying why not."""
    max_bytes = settings.THUMBNAIL_MAX_BYTES
    if upload.size > max_bytes:
        raise ValidationError(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
    limit = settings.THUMBNAIL_MAX_DIMENSION
    try:
        with Image.open(upload) as image:
            image_format = image.format
            if image_format not in FORMATS:
                raise ValidationError("Upload a PNG, JPEG or WebP image.")
            width, height = image.size
            # Checked from the header, before any pixel is decoded.
            if width > limit or height > limit:
                raise ValidationError(
                    f"The image is {width}×{height} pixels; at most {limit}×{limit} is allowed."
                )
            image.load()  # decodes every pixel: a truncated file raises here instead of being stored
            clean = _reencode(image, image_format)
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError(_UNREADABLE) from error
    return SimpleUploadedFile(thumbnail_name(image_format), clean, content_type=CONTENT_TYPES[image_format])


def _reencode(image: Image.Image, image_format: str) -> bytes:
    # Turn the picture the way its EXIF orientation says, since the orientation tag is dropped with the rest.
    image = ImageOps.exif_transpose(image)
    options: dict = {}
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        options = {"quality": 90}
    elif image_format == "WEBP":
        options = {"quality": 90}
    elif "transparency" in image.info:
        options = {"transparency": image.info["transparency"]}
    out = io.BytesIO()
    # No exif=, icc_profile= or pnginfo=: Pillow writes only the pixels and what they need.
    image.save(out, format=image_format, **options)
    return out.getvalue()
