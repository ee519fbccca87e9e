"""OpenAPI schema generation (drf-spectacular) for the project's style of API views."""

from drf_spectacular.openapi import AutoSchema as _AutoSchema


class AutoSchema(_AutoSchema):
    """Names nested ``InputSerializer``/``OutputSerializer`` classes after their view.

    Each API view declares its own ``InputSerializer`` and ``OutputSerializer`` (HackSoft style); by class
    name alone they would all become one "Input" and one "Output" component and overwrite each other.
    """

    def get_serializer_name(self, serializer, direction):
        cls = serializer.__class__
        owner, _, name = cls.__qualname__.rpartition(".")
        if owner and "<locals>" not in owner:
            return owner.removesuffix("Api") + name.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)
