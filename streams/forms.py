from django import forms

from streamit.text import clean_line, clean_text

from .models import CHAT_SLOW_SECONDS_MAX, IngressType, Stream
from .thumbnails import thumbnail_validate


class KeyForm(forms.Form):
    ingress_type = forms.ChoiceField(
        choices=IngressType.choices, initial=IngressType.RTMP, widget=forms.RadioSelect, label="Stream with"
    )


class ConfirmForm(forms.Form):
    """Reset and delete cut off whatever uses the current key: the creator ticks a box to confirm."""

    confirm = forms.BooleanField(
        label="Yes: the current key stops working and a live stream goes offline.",
        error_messages={"required": "Tick the box to confirm."},
    )


class ResetKeyForm(KeyForm, ConfirmForm):
    pass


class StreamInfoForm(forms.ModelForm):
    class Meta:
        model = Stream
        fields = ["title", "description", "thumbnail"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4}), "thumbnail": forms.FileInput}
        help_texts = {"thumbnail": "PNG, JPEG or WebP, at most 2 MB and 3840×3840 pixels."}

    def clean_thumbnail(self):
        return _validated_thumbnail(self)


def _validated_thumbnail(form: forms.ModelForm):
    """A new upload comes back re-encoded under a fresh name; the current file is left as it is."""
    upload = form.cleaned_data.get("thumbnail")
    if upload and upload is not getattr(form.instance, "thumbnail", None) and hasattr(upload, "content_type"):
        return thumbnail_validate(upload)
    return upload


class StreamAdminForm(forms.ModelForm):
    """Staff edits skip the services, so the same rules apply here: clean text, a re-encoded thumbnail."""

    class Meta:
        model = Stream
        # Never the key; what LiveKit and the webhooks own is shown read-only by the admin.
        fields = [
            "title",
            "description",
            "thumbnail",
            "is_chat_enabled",
            "is_chat_delayed",
            "is_chat_followers_only",
        ]

    def clean_title(self) -> str:
        return clean_line(self.cleaned_data["title"], max_length=Stream._meta.get_field("title").max_length)

    def clean_description(self) -> str:
        return clean_text(self.cleaned_data["description"])

    def clean_thumbnail(self):
        return _validated_thumbnail(self)


class ChatSettingsForm(forms.ModelForm):
    # Left out (an older form, a script posting the three switches) means off.
    chat_slow_seconds = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=CHAT_SLOW_SECONDS_MAX,
        label="Slow mode: seconds between a chatter's messages (0 = off)",
    )

    def clean_chat_slow_seconds(self) -> int:
        return self.cleaned_data.get("chat_slow_seconds") or 0

    class Meta:
        model = Stream
        fields = ["is_chat_enabled", "is_chat_delayed", "is_chat_followers_only", "chat_slow_seconds"]
        labels = {
            "is_chat_enabled": "Chat on",
            "is_chat_delayed": "Delay (viewers see messages 3 seconds late)",
            "chat_slow_seconds": "Slow mode: seconds between a chatter's messages (0 = off)",
            "is_chat_followers_only": "Followers only",
        }
