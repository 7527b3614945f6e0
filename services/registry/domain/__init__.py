"""The registry's rules: accounts, their regions, the review chain of requests."""
