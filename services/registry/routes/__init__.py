"""The registry's HTTP API: units file and maintain their accounts, offices review."""

from . import accounts, review

ROUTERS = [accounts.router, review.router]
