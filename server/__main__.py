"""`python -m server …` is the `diemtua` command."""

from server.cli import main

main()
