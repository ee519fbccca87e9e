"""The admin never reads, filters or sorts on a stream key (issue 14, item 1)."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse

from conftest import make_user
from streamit.admin_secrets import SECRET_FIELDS
from streams.models import Stream

pytestmark = pytest.mark.django_db

KEY = "QZXJvkq8sk3T9wPfyL2m"


def secret_paths(model, depth: int = 3, prefix: str = "", seen=()) -> list[str]:
    """Every lookup path from ``model`` through at most ``depth`` relations that ends on a secret field."""
    paths = []
    for field in model._meta.get_fields():
        name = field.name  # for a reverse relation, the name lookups use (related_query_name)
        if field.concrete and f"{model._meta.label}.{name}" in SECRET_FIELDS:
            paths.append(prefix + name)
        if field.is_relation and field.related_model and depth and field.related_model not in seen:
            paths += secret_paths(field.related_model, depth - 1, f"{prefix}{name}__", (*seen, model))
    return paths


@pytest.fixture
def keyed_stream(creator):
    Stream.objects.filter(user=creator).update(stream_key=KEY, ingress_id="IN_admin")
    return Stream.objects.get(user=creator)


def every_registered_secret_lookup() -> list[tuple[str, str]]:
    cases = []
    for model in admin.site._registry:
        for path in secret_paths(model):
            cases.append((model._meta.label, path))
    return cases


def test_the_walk_finds_the_paths_staff_could_try():
    cases = set(every_registered_secret_lookup())
    assert ("streams.Stream", "stream_key") in cases
    assert ("streams.StreamSession", "stream__stream_key") in cases
    assert ("accounts.User", "stream__stream_key") in cases
    assert ("accounts.Follow", "following__stream__stream_key") in cases


@pytest.mark.parametrize(("label", "path"), every_registered_secret_lookup())
@pytest.mark.parametrize("lookup", ["startswith", "regex", "exact", "gt"])
def test_no_admin_list_filters_on_the_key_through_any_relation(
    client, staff, keyed_stream, label, path, lookup
):
    client.force_login(staff)
    app_label, model_name = label.lower().split(".")
    url = reverse(f"admin:{app_label}_{model_name}_changelist")
    value = {"startswith": KEY[:1], "regex": f"^{KEY[:2]}", "exact": KEY, "gt": KEY[:1]}[lookup]
    response = client.get(url, {f"{path}__{lookup}": value})
    assert response.status_code == 400, f"{url}?{path}__{lookup} answered {response.status_code}"


def test_a_harmless_filter_still_works(client, staff, keyed_stream):
    client.force_login(staff)
    response = client.get(reverse("admin:streams_stream_changelist"), {"title__startswith": "a"})
    assert response.status_code == 200


def test_staff_with_only_view_permission_cannot_spell_out_the_key(client, keyed_stream):
    """The reported attack: startswith one character at a time, as staff who may only view streams."""
    viewer_staff = make_user("vera", is_staff=True)
    viewer_staff.user_permissions.add(Permission.objects.get(codename="view_stream"))
    client.force_login(viewer_staff)
    url = reverse("admin:streams_stream_changelist")
    assert client.get(url).status_code == 200
    for prefix in (KEY[:1], KEY[:2], "zz"):
        assert client.get(url, {"stream_key__startswith": prefix}).status_code == 400
    assert client.get(url, {"_to_field": "stream_key", "_popup": "1"}).status_code == 400


def test_neither_list_nor_form_shows_any_of_the_key(client, staff, keyed_stream):
    client.force_login(staff)
    pages = [
        reverse("admin:streams_stream_changelist"),
        reverse("admin:streams_stream_change", args=[keyed_stream.pk]),
        reverse("admin:accounts_user_change", args=[keyed_stream.user_id]),
    ]
    for page in pages:
        body = client.get(page).content.decode()
        assert KEY[:3] not in body, page
    # Staff still see whether a key exists.
    assert 'alt="True"' in client.get(pages[0]).content.decode()


def test_staff_edits_are_cleaned_and_a_thumbnail_re_encoded(client, staff, keyed_stream, settings, tmp_path):
    """The admin writes without the services, so its form applies the same rules (items 3 and 16)."""
    import io

    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    raw = io.BytesIO()
    Image.new("RGB", (32, 16), "red").save(raw, "JPEG", exif=exif)
    raw.seek(0)
    raw.name = "me.jpg"
    client.force_login(staff)
    url = reverse("admin:streams_stream_change", args=[keyed_stream.pk])
    response = client.post(
        url,
        {
            "title": "Chess\u202e night\u200b",
            "description": "a\x07b",
            "thumbnail": raw,
            "is_chat_enabled": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    stream = Stream.objects.get(pk=keyed_stream.pk)
    assert (stream.title, stream.description) == ("Chess night", "ab")
    assert stream.stream_key == KEY  # the form never touches it
    with stream.thumbnail.open("rb") as file:
        stored = file.read()
    assert b"SpyCam" not in stored and stream.thumbnail.name != "thumbnails/me.jpg"
