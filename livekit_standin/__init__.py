"""A stand-in LiveKit server (wire protocol only, no media) for StreamIt's tests and development."""

from .server import StandIn, event_body, sign_webhook

__all__ = ["StandIn", "event_body", "sign_webhook"]
