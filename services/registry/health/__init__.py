"""Account health: the figures units report, the checks that find idle accounts and unanswered questions, the
follow-up of each finding, and the monthly report (seed 004)."""
