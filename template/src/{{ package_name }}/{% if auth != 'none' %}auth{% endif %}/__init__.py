"""Who is calling: the principal behind a request's token or API key, and what it may do."""
