"""A throwaway HTTP function for the stack's own tests: it answers with what it received and who it is.

A request header X-Echo-Status makes it answer with that status (and an X-Echo-Extra header), so relaying of
non-200 answers can be checked.
"""

import hashlib
import os

import flask
import functions_framework


@functions_framework.http
def echo(request: flask.Request) -> flask.Response:
    body = request.get_data()
    response = flask.jsonify(
        function=os.environ.get("K_SERVICE", ""),
        method=request.method,
        path=request.path,
        query=request.query_string.decode(),
        headers={k.lower(): v for k, v in request.headers.items()},
        body_length=len(body),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    if request.headers.get("X-Echo-Status"):
        response.status_code = int(request.headers["X-Echo-Status"])
        response.headers["X-Echo-Extra"] = "yes"
    return response
