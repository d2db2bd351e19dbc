"""Forms for joining a community and for staff work on members, units and roles."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class UnitAddressMixin:
    building = StringField(
        _l("Building"), validators=[DataRequired(_l("Please enter the building.")), Length(max=20)],
        description=_l("e.g. 3 or 3号楼"),
    )
    entrance = StringField(_l("Unit (entrance)"), validators=[Optional(), Length(max=20)],
                           description=_l("e.g. 2; leave empty if the building has one entrance"))
    room = StringField(_l("Room"), validators=[DataRequired(_l("Please enter the room.")), Length(max=20)],
                       description=_l("e.g. 502"))


class JoinForm(UnitAddressMixin, FlaskForm):
    note = TextAreaField(_l("Anything staff should know (optional)"), validators=[Optional(), Length(max=500)])


class ManagedAccountForm(UnitAddressMixin, FlaskForm):
    display_name = StringField(_l("Resident's name"),
                               validators=[DataRequired(_l("Please enter the resident's name.")), Length(max=60)])
    note = TextAreaField(_l("Note for staff (optional)"), validators=[Optional(), Length(max=500)],
                         description=_l("e.g. how to reach them, who helps them"))


class RejectForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason"),
        validators=[DataRequired(_l("Please give the reason, so the person knows what to do.")), Length(max=500)],
    )


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class UnitImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Please choose a CSV file."))],
                     description=_l("Columns: building, unit, room, area (m²). Chinese headers 楼栋, 单元, 室, "
                                    "面积 work too. Saved as UTF-8 or from Excel."))


class LinkOwnerForm(FlaskForm):
    user_id = SelectField(_l("Owner"), coerce=int, validate_choice=False,
                          validators=[DataRequired(_l("Please choose a member."))])


class UnitHolderForm(FlaskForm):
    owner_name = StringField(_l("Owner’s name in the register (for an owner without an account)"),
                             validators=[Optional(), Length(max=80)])
    developer_held = BooleanField(_l("Not yet sold or delivered: held by the developer"))


class RoleForm(FlaskForm):
    role = HiddenField(validators=[DataRequired()])
