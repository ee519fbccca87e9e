from django import forms
from django.contrib.auth.forms import UserCreationForm

from .models import User


class SignUpForm(UserCreationForm):
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


class CreatorApplicationForm(forms.Form):
    reason = forms.CharField(
        label="Why do you want to stream?",
        min_length=10,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
