"""Thumbnails: a fresh unguessable name per upload, metadata stripped, pixels decoded (issue 14, 2 and 3)."""

import io
import re
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from streams.models import Stream
from streams.thumbnails import thumbnail_validate

pytestmark = pytest.mark.django_db

NAME = re.compile(r"^thumbnails/[0-9a-f]{32}\.(png|jpg|webp)$")


def image_bytes(fmt="PNG", size=(64, 36), color="purple", **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt, **save)
    return buffer.getvalue()


def upload(data: bytes, name="thumb.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/png")


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)})
    return exif


@pytest.fixture
def overwriting_storage(settings, tmp_path):
    """Local files with a bucket's rule: saving under a taken name replaces that file (S3, file_overwrite)."""
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "allow_overwrite": True},
        },
    }
    return tmp_path


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def put_thumbnail(client, data: bytes):
    response = client.put("/api/stream/info", {"thumbnail": upload(data)}, format="multipart")
    assert response.status_code == 200, response.content
    return response


def stored(user) -> tuple[str, bytes]:
    thumbnail = Stream.objects.get(user=user).thumbnail
    with thumbnail.open("rb") as file:
        return thumbnail.name, file.read()


def test_two_creators_never_share_a_file_and_a_reupload_keeps_the_others(
    overwriting_storage, livekit, creator, other_creator
):
    alice, erin = api_for(creator), api_for(other_creator)
    put_thumbnail(alice, image_bytes(color="red"))
    put_thumbnail(erin, image_bytes(color="blue"))
    alice_name, alice_data = stored(creator)
    erin_name, _ = stored(other_creator)
    assert NAME.match(alice_name) and NAME.match(erin_name)
    assert alice_name != erin_name
    assert Image.open(io.BytesIO(alice_data)).getpixel((0, 0)) == (255, 0, 0)

    put_thumbnail(erin, image_bytes(color="green"))
    new_erin_name, new_erin_data = stored(other_creator)
    assert new_erin_name != erin_name
    assert not (overwriting_storage / erin_name).exists()  # the old one is deleted...
    assert Image.open(io.BytesIO(new_erin_data)).getpixel((0, 0)) == (0, 128, 0)  # ...never the new one
    assert stored(creator) == (alice_name, alice_data)  # and alice's is untouched


def test_the_same_file_uploaded_twice_gets_two_names_and_keeps_the_new_one(
    overwriting_storage, livekit, creator
):
    alice = api_for(creator)
    data = image_bytes()
    put_thumbnail(alice, data)
    first, _ = stored(creator)
    put_thumbnail(alice, data)
    second, second_data = stored(creator)
    assert first != second
    assert (overwriting_storage / second).read_bytes() == second_data


def test_the_page_upload_gets_a_fresh_name_too(overwriting_storage, livekit, client, creator):
    client.force_login(creator)
    for _ in range(2):
        client.post(
            "/dashboard/",
            {"info-title": "T", "info-description": "", "info-thumbnail": upload(image_bytes())},
        )
    name, _ = stored(creator)
    assert NAME.match(name)
    assert sorted(p.name for p in (overwriting_storage / "thumbnails").iterdir()) == [name.split("/")[1]]


def test_names_are_unguessable():
    names = {thumbnail_validate(upload(image_bytes())).name for _ in range(50)}
    assert len(names) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}\.png", name) for name in names)


def test_exif_and_gps_are_stripped_from_a_jpeg_and_its_orientation_applied():
    raw = image_bytes("JPEG", size=(40, 20), exif=gps_exif())
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the upload does carry a position
    clean = thumbnail_validate(upload(raw, "photo.jpg")).read()
    image = Image.open(io.BytesIO(clean))
    assert image.format == "JPEG"
    assert not image.getexif() and "exif" not in image.info
    assert b"SpyCam" not in clean and b"Exif" not in clean
    assert image.size == (20, 40)  # turned as the dropped tag said


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_metadata_is_stripped_from_png_and_webp(fmt):
    raw = image_bytes(fmt, exif=gps_exif())
    assert b"SpyCam" in raw
    clean = thumbnail_validate(upload(raw)).read()
    assert b"SpyCam" not in clean
    assert not Image.open(io.BytesIO(clean)).getexif()


def truncated_png(width=3000, height=3000) -> bytes:
    """A valid PNG header claiming width×height pixels, followed by 10 bytes of image data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 10))
        + chunk(b"IEND", b"")
    )


def test_a_png_whose_pixels_are_missing_is_refused():
    with pytest.raises(ValidationError, match="not an image we can read"):
        thumbnail_validate(upload(truncated_png()))


def test_the_api_refuses_a_truncated_png_with_400(livekit, creator):
    response = api_for(creator).put(
        "/api/stream/info", {"thumbnail": upload(truncated_png())}, format="multipart"
    )
    assert response.status_code == 400
    assert "not an image we can read" in response.json()["fields"]["thumbnail"]
    assert not Stream.objects.get(user=creator).thumbnail
