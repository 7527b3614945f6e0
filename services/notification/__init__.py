"""Notification service: tells units, offices, experts and the committee what happened (inbox, e-mail, SMS),
and posts public events to subscribed webhooks."""
