"""Discussion forms."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .services import BODY_MAX

STANCES = [("for", _l("For")), ("against", _l("Against")), ("question", _l("Question")), ("neutral", _l("Neutral"))]


def new_token() -> str:
    return secrets.token_urlsafe(16)


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Please write something first.")),
                                                         Length(max=BODY_MAX)],
                         description=_l("Write @name to mention a neighbour."))
    # Rendered as radio buttons from STANCES; the service refuses any other value.
    stance = StringField(_l("Your position (optional)"), validators=[Optional()])
    parent_id = HiddenField()
    # On a convention: the clause the comment is about (a picker; the service checks the key).
    clause_key = StringField(_l("About which clause (optional)"), validators=[Optional(), Length(max=12)])
    # One token per rendered form: a double click or a retried request creates one comment.
    client_token = HiddenField(default=new_token)


class EditCommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[DataRequired(_l("Please write something first.")),
                                                         Length(max=BODY_MAX)])


class FlagForm(FlaskForm):
    reason = TextAreaField(_l("What is wrong with it? (optional)"), validators=[Optional(), Length(max=500)])


class HideForm(FlaskForm):
    reason = TextAreaField(_l("Reason, shown in place of the comment"),
                           validators=[DataRequired(_l("Please give the reason.")), Length(max=500)])
