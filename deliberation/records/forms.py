"""Forms for corrections and implementation updates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from .labels import PROGRESS_LABELS
from .models import Progress
from .services import NOTE_MAX


class CorrectionForm(FlaskForm):
    text = TextAreaField(_l("What is corrected, and why"),
                         validators=[DataRequired(_l("Please say what is corrected and why.")), Length(max=NOTE_MAX)],
                         description=_l("The original record stays as it is; this correction is added after it "
                                        "and points to it."))


class ProgressForm(FlaskForm):
    status = SelectField(_l("Status"), choices=[SelectChoice(p.value, PROGRESS_LABELS[p.value]) for p in Progress])
    percent = IntegerField(_l("Done (%)"), validators=[
        InputRequired(_l("Please enter how much is done, from 0 to 100.")),
        NumberRange(0, 100, _l("Please enter how much is done, from 0 to 100."))])
    on_date = DateField(_l("Date"), validators=[Optional()], description=_l("Leave empty for today."))
    note = TextAreaField(_l("What happened"), validators=[Optional(), Length(max=NOTE_MAX)])
