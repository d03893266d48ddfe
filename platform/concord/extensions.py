"""Extensions, created unbound and attached to an app by `create_app`."""

from __future__ import annotations

from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect

from concord import errors
from concord.api_common import ProblemSchema


class ConcordApi(Api):
    """flask-smorest, with every HTTP error answered as problem+json."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        return errors.handle_http_exception(error)

    def _register_responses(self):
        # Error responses are served as application/problem+json: document them so.
        self.DEFAULT_RESPONSE_CONTENT_TYPE = errors.PROBLEM_MIMETYPE
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE


csrf = CSRFProtect()
