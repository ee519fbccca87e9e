"""The creator dashboard: the stream manager and the keys page. Forms work without JavaScript.

Each view checks the caller is an approved creator, then calls the same service as the API.
"""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from streamit.api_errors import as_domain_error
from streamit.middleware import accepts_uploads

from . import services
from .forms import ChatSettingsForm, ConfirmForm, KeyForm, ResetKeyForm, StreamInfoForm
from .identities import page_identities
from .models import Stream
from .selectors import chat_access, host_of


def creator_required(view):
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_approved_creator:
            if request.method == "GET":
                messages.info(request, "Apply to become a creator to get a dashboard.")
                return redirect("accounts:become-creator")
            raise PermissionDenied
        return view(request, Stream.objects.get(user=request.user), *args, **kwargs)

    return wrapper


@accepts_uploads  # the stream details form carries the thumbnail
@creator_required
@require_http_methods(["GET", "POST"])
def dashboard(request: HttpRequest, stream: Stream) -> HttpResponse:
    info_form = StreamInfoForm(instance=stream, prefix="info")
    chat_form = ChatSettingsForm(instance=stream, prefix="chat")
    if request.method == "POST" and "info-title" in request.POST:
        info_form = StreamInfoForm(
            request.POST, request.FILES, instance=Stream.objects.get(pk=stream.pk), prefix="info"
        )
        if info_form.is_valid():
            data = info_form.cleaned_data
            uploaded = "info-thumbnail" in request.FILES  # otherwise the field holds the current file
            services.stream_info_update(
                stream=stream,
                title=data["title"],
                description=data["description"],
                thumbnail=data["thumbnail"] if uploaded else None,
            )
            messages.success(request, "Stream details saved.")
            return redirect("streams:dashboard")
    elif request.method == "POST":
        chat_form = ChatSettingsForm(request.POST, instance=Stream.objects.get(pk=stream.pk), prefix="chat")
        if chat_form.is_valid():
            services.stream_chat_settings_update(stream=stream, **chat_form.cleaned_data)
            messages.success(request, "Chat settings saved.")
            return redirect("streams:dashboard")
    context = {
        "stream": stream,
        "creator": request.user,
        "info_form": info_form,
        "chat_form": chat_form,
        "access": chat_access(host=host_of(stream), viewer=request.user),
        "identities": page_identities(stream.user_id),
        "poll_seconds": settings.WATCH_POLL_SECONDS,
    }
    return render(request, "streams/dashboard.html", context)


@never_cache  # the page shows the stream key: no browser or proxy may keep a copy (as the credentials API)
@creator_required
def keys(request: HttpRequest, stream: Stream) -> HttpResponse:
    context = {
        "stream": stream,
        # Three forms on one page: each gets its own ids, so a label ticks its own box only.
        "generate_form": KeyForm(auto_id="generate-%s"),
        "reset_form": ResetKeyForm(
            initial={"ingress_type": stream.ingress_type or "RTMP"}, auto_id="reset-%s"
        ),
        "delete_form": ConfirmForm(auto_id="delete-%s"),
    }
    return render(request, "streams/keys.html", context)


def _key_action(request: HttpRequest, stream: Stream, form, action) -> HttpResponse:
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("streams:keys")
    try:
        result = action(form.cleaned_data)
    except Exception as exc:
        refusal = as_domain_error(exc)  # the API's own words for the same refusal
        if refusal is None:
            raise
        messages.error(request, refusal.message)
    else:
        if result:
            messages.warning(request, result)
    return redirect("streams:keys")


@creator_required
@require_POST
def key_generate(request: HttpRequest, stream: Stream) -> HttpResponse:
    form = ResetKeyForm(request.POST) if stream.ingress_id else KeyForm(request.POST)

    def generate(data):
        result = services.stream_ingress_create(user=request.user, ingress_type=data["ingress_type"])
        messages.success(
            request, "Your new stream key is ready." if not stream.ingress_id else "Your key was reset."
        )
        return result.warning

    return _key_action(request, stream, form, generate)


@creator_required
@require_POST
def key_delete(request: HttpRequest, stream: Stream) -> HttpResponse:
    def delete(data):
        services.stream_ingress_delete(user=request.user)
        messages.success(request, "Your stream key was deleted.")

    return _key_action(request, stream, ConfirmForm(request.POST), delete)
