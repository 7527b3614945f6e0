"""Notification service: tells units, offices, experts and the committee what happened, in their inbox."""
