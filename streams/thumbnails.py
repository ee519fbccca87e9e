"""Thumbnail uploads: decoded with Pillow (the extension proves nothing), with size and dimension caps."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from PIL import Image, UnidentifiedImageError

FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


def thumbnail_validate(upload: UploadedFile) -> UploadedFile:
    """Return the upload renamed after its real format, or raise ValidationError saying what is wrong."""
    max_bytes = settings.THUMBNAIL_MAX_BYTES
    if upload.size > max_bytes:
        raise ValidationError(f"The image is larger than {max_bytes // (1024 * 1024)} MB.")
    try:
        with Image.open(upload) as image:
            image_format = image.format
            width, height = image.size
            image.verify()  # reads the whole file: a truncated or forged image fails here
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise ValidationError("The file is not an image we can read (PNG, JPEG or WebP).") from error
    if image_format not in FORMATS:
        raise ValidationError("Upload a PNG, JPEG or WebP image.")
    limit = settings.THUMBNAIL_MAX_DIMENSION
    if width > limit or height > limit:
        raise ValidationError(f"The image is {width}×{height} pixels; at most {limit}×{limit} is allowed.")
    upload.seek(0)
    upload.name = f"thumbnail.{FORMATS[image_format]}"
    return upload
