"""The API's JSON parser: DRF's, with deep nesting answered 400 like any other malformed body.

Python's json module raises RecursionError (not ValueError) on about a thousand nested brackets, so 2 KB
of "[[[[…" reached every JSON endpoint as a 500.
"""

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
