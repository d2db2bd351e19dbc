"""Meeting forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, DecimalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .labels import MODE_LABELS
from .services import NOTE_MAX, PLACE_MAX, TITLE_MAX

_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class MeetingForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Please give the meeting a title.")),
                                                 Length(max=TITLE_MAX)],
                        description=_l("e.g. Residents' council, March"))
    mode = SelectField(_l("How people take part"), choices=[SelectChoice(k, v) for k, v in MODE_LABELS.items()],
                       default="hybrid")
    place = StringField(_l("Place"), validators=[Optional(), Length(max=PLACE_MAX)],
                        description=_l("e.g. Community centre, room 2"))
    starts_at = DateTimeLocalField(_l("Starts"), format=_FORMATS,
                                   validators=[DataRequired(_l("Please choose when the meeting starts."))])
    ends_at = DateTimeLocalField(_l("Ends"), format=_FORMATS,
                                 validators=[DataRequired(_l("Please choose when the meeting ends."))])
    speaking_minutes = DecimalField(_l("Speaking time per person (minutes)"), default=3, places=None,
                                    validators=[InputRequired(_l("Please enter the speaking time in minutes.")),
                                                NumberRange(0.5, 30)])


class AgendaEntryForm(FlaskForm):
    item_id = SelectField(_l("Agenda item"), coerce=int, validate_choice=False,
                          validators=[DataRequired(_l("Please choose an item."))])
    minutes = IntegerField(_l("Time box (minutes)"), default=15,
                           validators=[InputRequired(_l("Please give the time box in whole minutes.")),
                                       NumberRange(1, 240)])


class SpeakerForm(FlaskForm):
    name = StringField(_l("Name of someone in the room"), validators=[
        DataRequired(_l("Please write the speaker's name.")), Length(max=60)])


class NoteForm(FlaskForm):
    text = TextAreaField(_l("Note for the minutes"), validators=[
        DataRequired(_l("Please write the note.")), Length(max=NOTE_MAX)])


class MinutesForm(FlaskForm):
    text = TextAreaField(_l("Minutes (Markdown)"), validators=[DataRequired(_l("The minutes cannot be empty."))])
