"""Reads of chat: a message as the API and the room get it (one shape for both)."""

from .models import ChatMessage


def message_data(message: ChatMessage) -> dict:
    """The message as JSON: what the API answers and what ``SendData`` carries to the room."""
    return {
        "id": message.pk,
        "author": message.identity,
        "name": message.name,
        "role": message.role,
        "text": message.text,
        "time": message.created_at.isoformat().replace("+00:00", "Z"),
    }
