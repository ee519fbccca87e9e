from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods

from streamit.ratelimits import limit_posts

from .forms import CreatorApplicationForm, SignUpForm
from .services import AccountError, creator_apply


@require_http_methods(["GET", "POST"])
@limit_posts(group="signup", rate_setting="RATE_LIMIT_SIGNUP")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = form.save()
        except IntegrityError:
            # A concurrent sign-up took the username or the address after the form checked them.
            form.add_error(None, "That username or e-mail address was just taken: try again.")
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to StreamIt, {user.username}!")
            return redirect("home")
    return render(request, "accounts/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def become_creator(request: HttpRequest) -> HttpResponse:
    form = CreatorApplicationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            creator_apply(user=request.user, reason=form.cleaned_data["reason"])
        except AccountError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Thanks! Staff will review your application.")
            return redirect("accounts:become-creator")
    return render(request, "accounts/become_creator.html", {"form": form})


password_reset = limit_posts(group="password-reset", rate_setting="RATE_LIMIT_PASSWORD_RESET")(
    auth_views.PasswordResetView.as_view(
        template_name="accounts/password_reset.html",
        email_template_name="accounts/password_reset_email.txt",
        subject_template_name="accounts/password_reset_subject.txt",
        success_url=reverse_lazy("accounts:password-reset-done"),
    )
)


class LogoutView(auth_views.LogoutView):
    """Logging out stays a POST (a link cannot log anyone out); a GET shows the button, not a 405."""

    http_method_names = ["get", "post", "options"]

    def get(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return render(request, "accounts/logout.html")
