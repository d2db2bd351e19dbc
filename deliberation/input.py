"""Bad input stopped at the edge, in one place: ids in URLs that no database column can hold,
and NUL characters (PostgreSQL refuses them in text) in query strings and forms."""

from __future__ import annotations

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

# Ids are 32-bit integers on PostgreSQL: a larger one names nothing, so it is a 404, not a 500.
ID_MAX = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: a number that fits the database's integer columns."""

    def __init__(self, map, *args, **kwargs) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def _clean(value):
    return value.replace("\x00", "") if isinstance(value, str) else value


class NulFreeMultiDict(ImmutableMultiDict):
    """Query and form values without NUL characters (nobody types them; PostgreSQL refuses them)."""

    def __init__(self, mapping=None) -> None:
        if mapping is None:
            super().__init__()
            return
        items = mapping.items(multi=True) if isinstance(mapping, ImmutableMultiDict) else (
            mapping.items() if hasattr(mapping, "items") else mapping)
        super().__init__([(_clean(k), _clean(v)) for k, v in items])


class CleanRequest(Request):
    parameter_storage_class = NulFreeMultiDict
