"""The API's plain path: hot endpoints answered without DRF's request, negotiation and serializers.

The token and status endpoints are asked on every watch page's connect and poll. For a request DRF would
answer in compact JSON anyway (``accepts_plain_json``), they build the answer themselves with DRF's own
JSON renderer and the view's own headers (``json_response``), so the bytes are the ones DRF would send;
anything else takes DRF's full path. Each such view has a test that sends requests both ways and compares.
"""

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

_renderer = JSONRenderer()


def accepts_plain_json(request) -> bool:
    """DRF would answer this request in compact JSON: no ``?format=`` (or any query), an Accept that takes
    JSON, no HTML (the browsable API in development) and no parameters (``; indent=4``, ``q=0``)."""
    if request.GET:
        return False
    accept = request.headers.get("Accept", "*/*")
    if "text/html" in accept or ";" in accept:
        return False
    return "*/*" in accept or "application/json" in accept


def json_response(view, body: dict, status: int = 200) -> HttpResponse:
    """``body`` as DRF would send it from ``view``: its renderer's bytes, its Allow (and Vary) headers."""
    response = HttpResponse(_renderer.render(body), status=status, content_type="application/json")
    for name, value in view.default_response_headers.items():
        response[name] = value
    return response
