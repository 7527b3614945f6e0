"""An error that repeats writes one log line a minute, not a traceback per request."""

from __future__ import annotations

import logging

import pytest

from massline.errors import unexpected_answer


def _fail() -> None:
    raise RuntimeError("the same fault again")


def test_a_repeated_error_is_logged_once_with_its_traceback_then_counted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="massline.errors")
    answers = []
    for _ in range(200):
        try:
            _fail()
        except RuntimeError as exc:
            answers.append(unexpected_answer(exc)[0])
    assert answers == [500] * 200
    lines = [r for r in caplog.records if r.name == "massline.errors"]
    assert len(lines) == 1 and lines[0].exc_info is not None
    assert "RuntimeError: the same fault again" in lines[0].getMessage()
