"""Submission service: campaigns, nominating units and offices, nominations, their review and approval."""
