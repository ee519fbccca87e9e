from django.apps import AppConfig


class StreamsConfig(AppConfig):
    name = "streams"
    verbose_name = "Streams"

    def ready(self):
        # A follow or block (accounts, which never imports us) can change who may chat in a room.
        from accounts.signals import relation_changed

        from .chat_rights import relation_changed_receiver

        relation_changed.connect(relation_changed_receiver, dispatch_uid="streams-chat-rights")
