"""Table tests over who is told of ticket events (TOLD) and what they read (RENDER)."""

from __future__ import annotations

from handlers.ticket_text import ACTION_ZH, RENDER
from models.ticket import ACTIONS, NOTE_ACTIONS, TOLD


def test_every_event_of_the_state_table_says_who_is_told() -> None:
    assert set(ACTIONS) | NOTE_ACTIONS | {"remind"} == set(TOLD)
    assert set(ACTIONS) | NOTE_ACTIONS == set(ACTION_ZH)


def test_every_audience_told_has_exactly_one_message() -> None:
    pairs = {(event, audience) for event, audiences in TOLD.items() for audience in audiences}
    assert pairs == set(RENDER)
    for event, audiences in TOLD.items():
        assert len(audiences) == len(set(audiences)), event
