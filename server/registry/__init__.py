"""The master registry in the database: candidates for the matcher, and the sync that feeds it.

Plain Python on a SQLAlchemy session (no Flask): the CLI, a worker and the tests call it alike.
"""
