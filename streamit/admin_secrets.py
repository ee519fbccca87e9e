"""Admin lookups never reach a secret column.

Django's admin accepts any lookup on a model's own fields from the change-list query string, so
``?stream_key__startswith=c`` turns a list into an oracle that spells out a creator's key one character at
a time. Every admin of ours refuses a lookup whose path (through any relation) ends on a secret field.
"""

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP

# "app_label.Model.field" of every column staff may know exists but never read, filter or sort on.
SECRET_FIELDS = frozenset({"streams.Stream.stream_key"})


def lookup_reaches_secret(model: type[Model], lookup: str) -> bool:
    """Whether ``lookup`` (``a__b__c__startswith``) names a secret field, following relations."""
    opts = model._meta
    for part in lookup.lstrip("-").split(LOOKUP_SEP):
        try:
            field = opts.get_field(part)
        except FieldDoesNotExist:
            return False  # a transform or lookup name: the path has ended on a field already checked
        if field.concrete and f"{field.model._meta.label}.{field.name}" in SECRET_FIELDS:
            return True
        if not field.is_relation or field.related_model is None:
            return False
        opts = field.related_model._meta
    return False


class SecretSafeAdmin(admin.ModelAdmin):
    """A ModelAdmin whose change list cannot filter or sort on a secret column, however it is reached."""

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if lookup_reaches_secret(self.model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def to_field_allowed(self, request, to_field) -> bool:
        if lookup_reaches_secret(self.model, to_field):
            return False
        return super().to_field_allowed(request, to_field)
