"""The last administrator keeps the admin role."""

from __future__ import annotations

import pytest

from services.submission.domain.accounts import check_role_change
from services.submission.domain.errors import NotNow


def test_the_last_admin_may_not_be_given_another_role() -> None:
    with pytest.raises(NotNow) as refused:
        check_role_change("admin", "admin", "committee", ["admin"])
    assert refused.value.code == "last_admin" and refused.value.details == {"username": "admin"}


def test_an_admin_may_be_demoted_while_another_admin_remains() -> None:
    check_role_change("admin", "admin", "committee", ["admin", "admin2"])


def test_an_admin_staying_admin_and_other_users_are_not_concerned() -> None:
    check_role_change("admin", "admin", "admin", ["admin"])  # a new password or display name
    check_role_change("unit1", "unit", "office", ["admin"])
    check_role_change("newcomer", None, "expert", [])
