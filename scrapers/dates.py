"""Date parsing shared by the parsers."""

from __future__ import annotations

import re
from datetime import date

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_US = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")  # month/day/year, as the CORDIS exports write


def parse_date(text: str) -> date:
    """An ISO date (a time part after it is ignored) or month/day/year; ValueError otherwise."""
    text = text.strip()
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _US.match(text):
        month, day, year = (int(g) for g in match.groups())
    else:
        raise ValueError(f"unreadable date {text!r} (expected YYYY-MM-DD or M/D/YYYY)")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"impossible date {text!r} ({exc})") from exc
