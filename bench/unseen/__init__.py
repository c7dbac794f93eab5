"""The unseen registry: a second evaluation set for matching, built apart from tuning.

`names` and `population` draw communes and their children from public statistics, `noise` and
`lists` write what each list would hold, `draw` saves the import files and the ground truth,
`evaluate` imports them through the registry importer and scores the result with `metrics`.
The command is bench/unseen_registry.py.
"""
