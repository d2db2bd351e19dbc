"""Convention forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from ..voting.labels import ELECTORATE_LABELS, PRESET_LABELS, THRESHOLD_LABELS, WEIGHTING_LABELS
from . import document
from .labels import AMENDMENT_KIND_LABELS, CONVENTION_KIND_LABELS
from .services import NOTE_MAX, REASON_MAX, TITLE_MAX

TEXT_MAX = document.MAX_CLAUSES * (document.CLAUSE_MAX + 2)
TEXT_HINT = _l("One clause per line; the app numbers them. Start a chapter with a line beginning with # "
               "(e.g. # 第一章 总则).")


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(key, label) for key, label in labels.items()]


class StartForm(FlaskForm):
    title = StringField(_l("Title of the convention"), validators=[
        DataRequired(_l("Please give the convention a title.")), Length(max=TITLE_MAX)],
        description=_l("e.g. 阳光社区文明养犬公约"))
    text = TextAreaField(_l("Text"), validators=[DataRequired(_l("Please write at least one clause.")),
                                                 Length(max=TEXT_MAX)], description=TEXT_HINT)


class NewConventionForm(StartForm):
    kind = RadioField(_l("Kind of convention"), choices=_choices(CONVENTION_KIND_LABELS), default="residents",
                      validators=[DataRequired(_l("Please choose the kind of convention."))])


class EditForm(StartForm):
    note = StringField(_l("What you changed (optional)"), validators=[Optional(), Length(max=NOTE_MAX)],
                       description=_l("Shown in the list of versions."))
    base_version = HiddenField()


class AmendmentForm(FlaskForm):
    clause_key = SelectField(_l("Clause"), validate_choice=False,
                             validators=[DataRequired(_l("Please choose a clause of the current text."))])
    kind = RadioField(_l("What the amendment does"), choices=_choices(AMENDMENT_KIND_LABELS), default="replace",
                      validators=[DataRequired(_l("Please choose what the amendment does."))])
    text = TextAreaField(_l("New text"), validators=[Optional(), Length(max=document.CLAUSE_MAX)],
                         description=_l("For a replacement: the clause as it should read. For an insertion: the new "
                                        "clause. Leave empty to delete."))
    reason = TextAreaField(_l("Why"), validators=[DataRequired(_l("Please say why, so others can weigh it.")),
                                                  Length(max=REASON_MAX)])


class CoauthorForm(FlaskForm):
    name = StringField(_l("Name of the member to add"), validators=[
        DataRequired(_l("Please enter the member's name as it is shown in the app.")), Length(max=60)])


class VoteForm(FlaskForm):
    mode = RadioField(_l("How to vote"), default="whole", choices=[
        SelectChoice("whole", _l("One vote on the whole text")),
        SelectChoice("clauses", _l("A vote on each amendment and each chosen clause, then a final vote on the "
                                   "text as amended"))])
    clause_keys = SelectMultipleField(_l("Contested clauses to vote on separately"), validate_choice=False,
                                      validators=[Optional()],
                                      description=_l("Each becomes a vote on keeping the clause. Every "
                                                     "proposed amendment is voted on anyway."))
    preset = SelectField(_l("Rule preset"), choices=_choices(PRESET_LABELS), default="residents_households")
    electorate = SelectField(_l("Who may vote"), choices=_choices(ELECTORATE_LABELS), default="owners")
    weighting = SelectField(_l("Weighting"), choices=_choices(WEIGHTING_LABELS), default="person")
    threshold = SelectField(_l("Threshold to pass"), choices=[
        c for c in _choices(THRESHOLD_LABELS) if c.value != "plurality"], default="majority")
    secret = BooleanField(_l("Secret ballot"), default=False)  # not with area (the default preset)
    closes_at = DateTimeLocalField(_l("Voting closes"),
                                   validators=[DataRequired(_l("Please choose when voting closes."))],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
    effective_on = DateField(_l("Takes effect on (optional)"), validators=[Optional()],
                             description=_l("Leave empty: the day after it is adopted."))
    open_now = BooleanField(_l("Open the votes now (untick to open them one by one in a meeting)"), default=True)


class FinalVoteForm(FlaskForm):
    closes_at = DateTimeLocalField(_l("Voting closes"),
                                   validators=[DataRequired(_l("Please choose when voting closes."))],
                                   format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"])
