"""Submission use cases, one function each: every change runs in one unit of work, the domain decides."""
