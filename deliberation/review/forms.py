"""Review forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, SelectMultipleField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from .services import BODY_MAX, QUESTION_MAX


class RequestReviewForm(FlaskForm):
    reviewer_ids = SelectMultipleField(_l("Reviewers"), coerce=int, validate_choice=False,
                                       validators=[DataRequired(_l("Please choose at least one reviewer."))],
                                       description=_l("Experts and legal advisers of this community."))
    question = TextAreaField(_l("Question for the reviewers"),
                             validators=[DataRequired(_l("Please write the question for the reviewers.")),
                                         Length(max=QUESTION_MAX)],
                             description=_l("e.g. Is the fire lane still wide enough? Does the plan need the "
                                            "owners' vote under the Civil Code?"))
    due_on = DateField(_l("Due date"), validators=[DataRequired(_l("Please choose a due date."))])


class RespondForm(FlaskForm):
    reason = TextAreaField(_l("Why you decline"), validators=[Optional(), Length(max=1000)])


class ReviewForm(FlaskForm):
    verdict = SelectField(_l("Verdict"), validate_choice=False,
                          validators=[DataRequired(_l("Please choose a verdict."))])
    body = TextAreaField(_l("Your review"), validators=[DataRequired(_l("Please write your review.")),
                                                        Length(max=BODY_MAX)],
                         description=_l("Explain your verdict in plain words. Markdown works."))
    clause_key = SelectField(_l("Which part of the convention"), validate_choice=False, validators=[Optional()],
                             description=_l("Review the whole text, or one clause."))
    passages = TextAreaField(_l("Passages of the item this is about (optional)"),
                             validators=[Optional(), Length(max=5000)],
                             description=_l("Copy the sentences you mean, one per line."))


class AnswerForm(FlaskForm):
    body = TextAreaField(_l("Your answer to the objection"),
                         validators=[DataRequired(_l("Please write your answer.")), Length(max=BODY_MAX)])


class CloseObjectionForm(FlaskForm):
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])
