"""The gateway's HTTP entrypoints: each runs its worker *as the caller* (the caller's token on the
worker's context, for the downstream calls), with a correlation id taken from the request or
made up, and answers with whatever the kind of endpoint answers in — JSON and problem documents
(/v1), Open311's formats (/open311), HTML pages (/console). Nothing is ever werkzeug's page."""

import abc
from functools import partial

from eventlet.event import Event
from nameko.web.handlers import HttpRequestHandler

from alliance_platform.context import AUTHORIZATION_KEY, CORRELATION_KEY, new_id

CORRELATION_HEADER = "X-Correlation-Id"
MAX_CORRELATION_ID = 128


def correlation_id_of(request):
    """The caller's ``X-Correlation-Id`` when it is up to 128 printable ASCII characters, else a new one."""
    given = request.headers.get(CORRELATION_HEADER)
    if given and len(given) <= MAX_CORRELATION_ID and given.isascii() and given.isprintable():
        return given
    return new_id()


class CallerEndpoint(HttpRequestHandler, abc.ABC):
    """Subclasses say where the caller's token is (``caller_token``, which may refuse the request
    before any worker runs) and how an answer and a refusal look (``answer``, ``refuse``)."""

    metric_kind = "http"  # alliance_http_requests_total{operation=...}

    @abc.abstractmethod
    def caller_token(self, request):
        """The caller's token (None: none), or raise to refuse the request before any worker runs."""

    @abc.abstractmethod
    def answer(self, result, request):
        """The response to what the worker returned."""

    @abc.abstractmethod
    def refuse(self, exc, request):
        """The response to what the request or its worker raised."""

    def handle_request(self, request):
        request.shallow = False
        request.alliance_correlation_id = correlation_id = correlation_id_of(request)
        try:
            token = self.caller_token(request)
        except Exception as exc:
            return self.refuse(exc, request)
        context = {CORRELATION_KEY: correlation_id}
        if token:
            context[AUTHORIZATION_KEY] = token
        event = Event()
        try:
            self.container.spawn_worker(
                self,
                (request,),
                request.path_values,
                context_data=context,
                handle_result=partial(self.handle_result, event),
            )
            result = event.wait()
        except Exception as exc:
            return self.refuse(exc, request)
        return self.answer(result, request)
