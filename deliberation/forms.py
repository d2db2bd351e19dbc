"""Shared form helpers: show a service's DomainError next to the field it is about."""

from __future__ import annotations

from flask_wtf import FlaskForm

from .errors import DomainError


def show_error(form: FlaskForm, err: DomainError) -> None:
    field = form._fields.get(err.field) if err.field else None
    if field is not None:
        field.errors = [*field.errors, err.message] if isinstance(field.errors, list) else [err.message]
    else:
        form.form_errors.append(err.message)
