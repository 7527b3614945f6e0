"""The last administrator keeps the admin role and stays able to sign in; account fields keep their bounds."""

from __future__ import annotations

import pytest

from services.submission.domain.accounts import check_disable, check_password, check_role_change, check_username
from services.submission.domain.errors import Invalid, NotNow


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


def test_the_last_admin_who_can_sign_in_may_not_be_disabled() -> None:
    with pytest.raises(NotNow) as refused:
        check_disable("admin", "admin", ["admin"])
    assert refused.value.code == "last_admin"
    check_disable("admin", "admin", ["admin", "deputy"])
    check_disable("unit1", "unit", ["admin"])  # not an admin: the rule does not apply


def test_passwords_and_usernames_set_from_the_command_line_keep_the_api_bounds() -> None:
    for password in ("x" * 9, "x" * 201):
        with pytest.raises(Invalid) as refused:
            check_password(password)
        assert refused.value.code == "invalid_password"
    check_password("x" * 10)
    with pytest.raises(Invalid) as refused:
        check_username("no spaces")
    assert refused.value.code == "invalid_username"
    check_username("ops.admin")
