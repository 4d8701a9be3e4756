"""Which shared terms an explanation shows."""

from __future__ import annotations

import pytest

from matcher.explain import shown


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("malaria", True),
        ("nets", True),
        ("2023", False),
        ("2021", False),
        ("developing", False),
        ("specific", False),
        ("consortium", False),
        ("covid19", True),
    ],
)
def test_numbers_and_boilerplate_are_not_shown(term: str, expected: bool) -> None:
    assert shown(term) is expected
