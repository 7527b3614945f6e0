"""The voting service's use cases, one function each: voters verify, vote, read their quota and the standings;
the subscribers learn campaigns and entries and keep the standings."""
