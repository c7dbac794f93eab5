"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, make_response, request
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from server import outages, problems
from server.auth.redaction import install_log_redaction
from server.config import Settings, load_settings
from server.id_converter import install_id_converter
from server.middleware import FieldKeyPathMiddleware
from server.security_headers import add_security_headers
from server.services import Services

log = logging.getLogger(__name__)


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app. `overrides` may hold `services` or `settings` (tests), or Flask config."""
    overrides = dict(overrides or {})
    svc: Services | None = overrides.pop("services", None)
    settings: Settings | None = overrides.pop("settings", None)
    if svc is None:
        svc = Services.from_settings(settings or load_settings())
    # Tokens never reach a log line, whichever server runs the app (README "Signing in").
    install_log_redaction()
    outages.watch_database()

    app = Flask(__name__)
    app.extensions["diemtua"] = svc
    app.config.update(
        SECRET_KEY=svc.settings.secret_key,
        MAX_CONTENT_LENGTH=svc.settings.max_submission_bytes,
        MAX_FORM_PARTS=svc.settings.max_form_parts,
        # Collect sends the instance as a file part; a client sending it as a plain field may
        # still use up to 10 MB of memory for it.
        MAX_FORM_MEMORY_SIZE=10_000_000,
        JSON_SORT_KEYS=False,
        RESTX_MASK_SWAGGER=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    app.config.update(overrides)

    wsgi: Any = app.wsgi_app
    if svc.settings.proxy_hops:
        wsgi = ProxyFix(wsgi, x_for=svc.settings.proxy_hops, x_proto=svc.settings.proxy_hops,
                        x_host=svc.settings.proxy_hops, x_port=svc.settings.proxy_hops)
    app.wsgi_app = FieldKeyPathMiddleware(wsgi)  # type: ignore[method-assign]

    _register_unit_of_work(app)
    _register_security_headers(app)
    _register_error_handlers(app)
    install_id_converter(app)  # before the blueprints: their rules pick converters when added
    _register_blueprints(app)
    return app


def _register_unit_of_work(app: Flask) -> None:
    @app.after_request
    def _commit(response: Response) -> Response:
        session = g.pop("db", None)
        if session is not None:
            try:
                if response.status_code < 400:
                    session.commit()
                else:
                    session.rollback()
            except Exception as exc:
                # The database went away between the work and its commit: nothing was
                # stored, and the caller hears 503 like every other request of the outage.
                kind = outages.outage_of(exc)
                if kind is None:
                    raise
                response = add_security_headers(outage_response(kind, exc), request.blueprint,
                                                request.endpoint)
            finally:
                _close_quietly(session)
        return response

    @app.teardown_request
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            _close_quietly(session)


def _close_quietly(session: Any) -> None:
    """Roll back and close; on a dead connection that fails too, and changes nothing."""
    try:
        session.rollback()
        session.close()
    except Exception as exc:
        if outages.outage_of(exc) is None:
            raise


def render_problem(problem: problems.Problem) -> Response:
    """A Problem as the surface of the request speaks: OpenRosa XML for phones, else JSON."""
    from server.openrosa.responses import is_openrosa_request, openrosa_problem

    if is_openrosa_request():
        return openrosa_problem(problem)
    response = jsonify(problem.to_json())
    response.status_code = problem.http_status
    if problem.http_status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="Diem Tua"'
    return response


def outage_response(kind: str, exc: BaseException) -> Response:
    """503 + Retry-After for a database or storage outage (`server.outages`), logged once
    per episode: phones read the OpenRosa message, the API the 503.2 problem, people a page.
    """
    outages.OUTAGES.seen(kind, exc)
    retry_after = current_app.extensions["diemtua"].settings.retry_after_seconds
    if request.blueprint == "web":
        from server.web import error_page

        response = make_response(error_page(503, "error.unavailable"))
    else:
        response = render_problem(problems.unavailable(kind, retry_after))
    response.headers["Retry-After"] = str(retry_after)
    return response


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def _secure(response: Response) -> Response:
        return add_security_headers(response, request.blueprint, request.endpoint)


def _register_error_handlers(app: Flask) -> None:
    render = render_problem

    @app.errorhandler(problems.Problem)
    def _problem(problem: problems.Problem) -> Response:
        return render(problem)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge) -> Response:
        return render(problems.too_large(app.config["MAX_CONTENT_LENGTH"]))

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError) -> Response:
        # Two requests creating the same thing at once: the database's unique constraint
        # decides, and the loser hears "already exists", as if it had come second.
        log.info("integrity error mapped to 409.3: %s", exc.orig)
        return render(problems.Problem("409.3", "A resource already exists with these "
                                       "values; it may have just been created by another "
                                       "request."))

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        original = getattr(exc, "original_exception", None)
        if isinstance(exc, InternalServerError) and original is not None:
            kind = outages.outage_of(original)
            if kind is not None:
                return outage_response(kind, original)
        if code == 404:
            return render(problems.not_found())
        return render(problems.Problem(f"{code}.0", exc.description or exc.name))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        kind = outages.outage_of(exc)
        if kind is not None:
            return outage_response(kind, exc)
        log.exception("unhandled error on %s %s", request.method, request.path)
        return render(problems.Problem("500.1", "An internal error occurred; nothing was "
                                       "saved. Please try again."))


def _register_blueprints(app: Flask) -> None:
    from server.api.v1 import blueprint as api_v1
    from server.health import blueprint as health
    from server.openrosa import blueprint as openrosa
    from server.web import blueprint as web
    from server.web.i18n import init_translations

    app.register_blueprint(health)
    app.register_blueprint(openrosa)
    app.register_blueprint(api_v1)
    app.register_blueprint(web)
    init_translations(app)
