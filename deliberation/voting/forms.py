"""Measure forms. Ballots are plain posted fields read by the views (their shape depends on
the measure), checked by the service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .labels import ELECTORATE_LABELS, KIND_LABELS, PRESET_LABELS, THRESHOLD_LABELS, WEIGHTING_LABELS
from .services import QUESTION_MAX, TEXT_MAX


def _choices(labels):
    return [SelectChoice(key, label) for key, label in labels.items()]


class MeasureForm(FlaskForm):
    kind = SelectField(_l("Kind of vote"), choices=_choices(KIND_LABELS))
    question = StringField(_l("Question"), validators=[DataRequired(_l("Please write the question voters answer.")),
                                                       Length(max=QUESTION_MAX)],
                           description=_l("e.g. Adopt the shared-parking plan?"))
    options = TextAreaField(_l("Options, one per line"), validators=[Optional()],
                            description=_l("For votes between options: 2 to 10 lines, e.g. Plan A, Plan B."))
    text = TextAreaField(_l("Text of the convention"), validators=[Optional(), Length(max=TEXT_MAX)],
                         description=_l("For a convention: the full text. It is frozen when voting opens."))
    preset = SelectField(_l("Rule preset"), choices=_choices(PRESET_LABELS))
    electorate = SelectField(_l("Who may vote"), choices=_choices(ELECTORATE_LABELS))
    weighting = SelectField(_l("Weighting"), choices=_choices(WEIGHTING_LABELS))
    quorum_headcount = DecimalField(_l("Quorum: share of eligible voters who must take part (%)"),
                                    validators=[Optional(), NumberRange(0, 100)], places=None)
    quorum_area = DecimalField(_l("Quorum: share of floor area that must take part (%)"),
                               validators=[Optional(), NumberRange(0, 100)], places=None)
    threshold = SelectField(_l("Threshold to pass"), choices=_choices(THRESHOLD_LABELS), default="majority")
    abstentions_count = BooleanField(_l("Count abstentions among the votes cast (they then work like “no”)"))
    ballot = SelectField(_l("Ballot"), default="preset", choices=[
        SelectChoice("preset", _l("As the rule preset says: signed, roll call (记名) for Civil Code art. 278; secret "
                                  "otherwise")),
        SelectChoice("secret", _l("Secret ballot")),
        SelectChoice("open", _l("Open ballot (roll call): everyone sees who chose what after the vote"))])
    results_live = BooleanField(_l("Show results live while voting is open"))
    opens_at = DateTimeLocalField(_l("Voting opens (leave empty: when the chair opens it)"),
                                  validators=[Optional()], format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    closes_at = DateTimeLocalField(_l("Voting closes"),
                                   validators=[DataRequired(_l("Please choose when voting closes."))],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])


class ProxyForm(FlaskForm):
    delegate_id = SelectField(_l("Who votes for you"), coerce=int, validate_choice=False,
                              validators=[DataRequired(_l("Please choose a member."))])


class PaperProxyForm(FlaskForm):
    grantor_id = SelectField(_l("Member giving the proxy"), coerce=int, validate_choice=False,
                             validators=[DataRequired(_l("Please choose a member."))])
    delegate_id = SelectField(_l("Member who votes for them"), coerce=int, validate_choice=False,
                              validators=[DataRequired(_l("Please choose a member."))])


class HandsForm(FlaskForm):
    present = IntegerField(_l("People present and entitled to vote"),
                           validators=[DataRequired(_l("Please enter how many were present.")), NumberRange(min=1)])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=1000)])
