"""Domain actions on the server's own records (forms, submissions, users, blobs).

Each function takes a SQLAlchemy session and plain values, never `flask.request`; it may
`flush()` but never commits: the caller's unit of work commits once.
"""
