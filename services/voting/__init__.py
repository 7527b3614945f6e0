"""Voting service: voter verification, casting votes within the daily quota, live standings."""
