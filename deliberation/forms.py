"""Shared form handling for views: validate, call one service, and on a refusal show the
service's message next to the field it is about, keeping everything the person typed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm

from .errors import DomainError

NOT_SUBMITTED = object()
MIN_YEAR, MAX_YEAR = 1900, 2999


def show_error(form: FlaskForm, err: DomainError) -> None:
    field = form._fields.get(err.field) if err.field else None
    if field is not None:
        field.errors = [*field.errors, err.message] if isinstance(field.errors, list) else [err.message]
    else:
        form.form_errors.append(err.message)


def submit_form(form: FlaskForm, action: Callable[[], Any]) -> Any:
    """Run ``action`` if the form validates; return its result, or NOT_SUBMITTED when the form
    was not sent, was invalid, or a rule refused it (the message is then on the form). Refusals
    of access (403, 404) are not form errors: they go on to the error pages."""
    if not form.validate_on_submit() or not dates_in_range(form):
        return NOT_SUBMITTED
    try:
        return action()
    except DomainError as err:
        if err.status_code in (403, 404):
            raise
        show_error(form, err)
        return NOT_SUBMITTED


def dates_in_range(form: FlaskForm) -> bool:
    """Dates a browser lets through but nobody means (year 1, year 9999) would overflow when
    shifted to UTC: say so on the field, keeping what was typed."""
    fine = True
    for field in form:
        value = field.data
        if isinstance(value, date) and not (MIN_YEAR <= value.year <= MAX_YEAR):
            field.errors = [*field.errors, _l("Please give a date between %(a)d and %(b)d.", a=MIN_YEAR, b=MAX_YEAR)]
            fine = False
    return fine


def status_for(form: FlaskForm) -> int:
    """400 when the form is shown again because of errors, so tests and tools can tell."""
    return 400 if form.errors else 200


class flash_refusals:  # noqa: N801 - used as ``with flash_refusals() as attempt:``
    """For one-button actions that go back to a page: a rule's refusal inside the block becomes a
    flashed message (``attempt.refused`` is then True); refusals of access (``reraise``) go on
    to the error pages."""

    def __init__(self, *, reraise: tuple[int, ...] = (403, 404)) -> None:
        self.reraise = reraise
        self.refused = False

    def __enter__(self) -> flash_refusals:
        return self

    def __exit__(self, kind, err, _tb) -> bool:
        if isinstance(err, DomainError) and err.status_code not in self.reraise:
            flash(str(err.message), "error")
            self.refused = True
            return True
        return False
