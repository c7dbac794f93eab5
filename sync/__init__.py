"""Domain logic for turning phone submissions into the registry; plain Python, no Flask."""
