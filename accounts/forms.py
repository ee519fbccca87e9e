from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm, UserCreationForm

from .models import User

EMAIL_TAKEN = "A user with that e-mail address already exists."


def email_in_use(email: str, *, exclude_pk: int | None = None) -> bool:
    """Whether another account has this address in any case (the database refuses it too)."""
    if not email:
        return False
    return User.objects.filter(email__lower=email.lower()).exclude(pk=exclude_pk).exists()


class UniqueEmailMixin:
    """A form error, not a 500 or a non-field message, for an address another account has."""

    def clean_email(self) -> str:
        email = self.cleaned_data.get("email", "")
        if email_in_use(email, exclude_pk=self.instance.pk):
            raise forms.ValidationError(EMAIL_TAKEN, code="unique")
        return email


class SignUpForm(UniqueEmailMixin, UserCreationForm):
    email = forms.EmailField(required=True, help_text="Used only to reset your password.")

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        # The database refuses case duplicates too; this gives the user a form error instead of a 500.
        if User.objects.filter(username__lower=username.lower()).exists():
            raise forms.ValidationError("A user with that username already exists.")
        return username


class AdminUserAddForm(UniqueEmailMixin, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("username", "email")


class AdminUserChangeForm(UniqueEmailMixin, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class CreatorApplicationForm(forms.Form):
    reason = forms.CharField(
        label="Why do you want to stream?",
        min_length=10,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
