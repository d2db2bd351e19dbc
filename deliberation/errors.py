"""Domain errors raised by services, and the handlers that turn every error into a page.

Services raise these; views catch ``DomainError`` to re-show a form with the message, and
anything uncaught becomes a readable page in the user's language (never a traceback).
"""

from __future__ import annotations

from flask import Flask, g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule said no. ``message`` is already translated (lazy) and safe to show."""

    status_code = 400

    def __init__(self, message=None, *, field: str | None = None) -> None:
        self.message = message if message is not None else self.default_message
        self.field = field
        super().__init__(str(self.message))

    default_message = _l("That could not be done.")


class ValidationError(DomainError):
    status_code = 400
    default_message = _l("Please check what you entered.")


class PermissionDenied(DomainError):
    """``allowed`` names who may do it (role labels), so the page can say so, not just "no"."""

    status_code = 403
    default_message = _l("You do not have permission to do that.")

    def __init__(self, message=None, *, field: str | None = None, allowed=()) -> None:
        super().__init__(message, field=field)
        self.allowed = list(allowed)


class NotFound(DomainError):
    status_code = 404
    default_message = _l("That page or record does not exist.")


class InvalidTransition(DomainError):
    status_code = 409
    default_message = _l("That step is not possible in the current state.")


class Conflict(DomainError):
    status_code = 409
    default_message = _l("Someone else changed this at the same time. Please try again.")


ERROR_TITLES = {
    400: _l("The request could not be understood"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("That action is not available here"),
    409: _l("That could not be done now"),
    413: _l("The file is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("Too busy right now"),
}

ERROR_HINTS = {
    400: _l("Please go back, reload the page and try again."),
    403: _l("If you think you should be able to, ask your community staff."),
    404: _l("The address may be mistyped, or the page was moved."),
    405: _l("Please go back and use the buttons on the page."),
    409: _l("Please reload the page to see the latest state."),
    413: _l("Please choose a smaller file (at most 2 MB)."),
    429: _l("For your safety we paused this for a short while. Please wait a minute and try again."),
    500: _l("The problem has been logged. Please try again in a moment."),
    503: _l("Many people are doing this at the same moment. Nothing was saved; please try again in a moment."),
}


FALLBACK_500 = (
    "<!doctype html><html lang=\"zh-Hans\"><meta charset=\"utf-8\"><title>500</title>"
    "<h1>出错了 · Something went wrong</h1><p>请稍后再试。Please try again in a moment.</p></html>"
)


def render_error(status: int, message=None, hint=None, *, allowed=()):
    status_key = status if status in ERROR_TITLES else (500 if status >= 500 else 400)
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=ERROR_TITLES[status_key],
            message=message,
            hint=hint or ERROR_HINTS[status_key],
            allowed=[str(label) for label in allowed],
        ),
        status,
    )


# PostgreSQL: serialization failure, deadlock detected, lock not available.
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})


def register_error_handlers(app: Flask) -> None:
    @app.before_request
    def nothing_saved_yet() -> None:
        # Set after a commit that wrote (extensions._remember_commit); one app context may serve
        # several requests (tests, scripts), so each request starts without it.
        g.pop("saved_something", None)

    @app.errorhandler(CSRFError)
    def csrf_error(_err):
        return render_error(400, _l("This form has expired or was sent from another site. "
                                    "Please reload the page and send it again."))

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        return render_error(err.status_code, err.message, allowed=getattr(err, "allowed", ()))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if err.code is None or err.code < 400:
            return err
        return render_error(err.code)

    from sqlalchemy.exc import OperationalError

    @app.errorhandler(OperationalError)
    def database_busy(err: OperationalError):
        # SQLite's write lock stayed taken longer than the busy timeout (a rush of votes, say),
        # or PostgreSQL chose this transaction to break a deadlock or a serialization conflict:
        # it was rolled back, so the person can simply send it again.
        # A killed or lost connection (a restarted server, an administrator's pg_terminate_backend)
        # is retryable too: the pool replaces the connection on the next try.
        sqlstate = getattr(err.orig, "sqlstate", None) or ""
        retryable = ("database is locked" in str(err) or sqlstate in RETRYABLE_SQLSTATES
                     or err.connection_invalidated or sqlstate.startswith(("08", "57P")))
        if not retryable:
            return unexpected_error(err)
        app.logger.warning("Database busy on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        if g.get("saved_something"):
            # The change was committed; only what came after (a re-read, the page) failed.
            response = render_error(503, _l("Your change was saved, but the page could not be shown."),
                                    hint=_l("Please reload the page in a moment; there is no need to send it "
                                            "again."))
        else:
            response = render_error(503)
        return response[0], 503, {"Retry-After": "2"}

    from sqlalchemy.exc import DataError

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def out_of_range(err: Exception):
        # A number or date no column can hold (an id of 2^31 and more on PostgreSQL, 2^63 on
        # SQLite, year 1 shifted to UTC): the input is wrong, not the server.
        app.logger.info("Out-of-range input on %s %s: %s", request.method, request.path, err)
        from .extensions import db

        db.session.rollback()
        return render_error(400, _l("A number or a date you sent is out of range. Please check it and try again."))

    @app.errorhandler(Exception)
    def unexpected_error(err: Exception):
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        try:
            db.session.rollback()
            return render_error(500)
        except Exception:  # the page itself needs the database; say it plainly instead
            app.logger.exception("The error page could not be rendered")
            return FALLBACK_500, 500, {"Content-Type": "text/html; charset=utf-8"}
