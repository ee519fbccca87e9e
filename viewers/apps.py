from django.apps import AppConfig

# Stream fields the cached host (viewers.selectors.Host) carries.
HOST_FIELDS = {"is_chat_enabled", "is_chat_followers_only", "is_chat_delayed"}


class ViewersConfig(AppConfig):
    name = "viewers"
    verbose_name = "Viewers"

    def ready(self):
        # Cache invalidation only (no business logic): whatever path saves a creator or their chat
        # settings — services, the admin — the next token reads the new values.
        from django.db.models.signals import post_save

        from accounts.models import User
        from streams.models import Stream

        post_save.connect(_user_saved, sender=User, dispatch_uid="viewers-host-user")
        post_save.connect(_stream_saved, sender=Stream, dispatch_uid="viewers-host-stream")


def _user_saved(sender, instance, **kwargs):
    from .selectors import host_forget

    host_forget(user_id=instance.pk, username=instance.username)


def _stream_saved(sender, instance, update_fields=None, **kwargs):
    from .selectors import host_forget

    if update_fields is not None and not HOST_FIELDS & set(update_fields):
        return  # live flag, viewer counts, keys: not part of the cached host
    host_forget(user_id=instance.user_id, username=instance.user.username)
