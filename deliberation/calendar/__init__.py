"""Meetings in people's own calendars: an .ics file per meeting and a personal feed URL."""
