"""Recognising the same child across reports without merging twins, siblings or namesakes.

Normalise (``sync.vietnamese``, ``sync.dates``, ``sync.personal_id``) → prepare a record →
block (indexed keys) → score (Fellegi-Sunter levels and weights) → hard rules → one-to-one
assignment inside the household submission → bands with explanations. Plain Python: the
database layer implements :class:`CandidateSource` and stores the :class:`Decision` values.
"""

from sync.matching.blocking import BlockingKey, KeyType, RecordKeys, blocking_keys, record_keys
from sync.matching.decide import Band, Candidate, Decision, Explanation, Reason
from sync.matching.index import CandidateSource, InMemoryIndex, RegistryWriter
from sync.matching.matcher import Matcher
from sync.matching.records import ChildRecord, MatchRecord, Sex, parse_sex, prepare
from sync.matching.scoring import MatchModel

__all__ = [
    "Band",
    "BlockingKey",
    "Candidate",
    "CandidateSource",
    "ChildRecord",
    "Decision",
    "Explanation",
    "InMemoryIndex",
    "KeyType",
    "MatchModel",
    "MatchRecord",
    "Matcher",
    "Reason",
    "RecordKeys",
    "RegistryWriter",
    "Sex",
    "blocking_keys",
    "parse_sex",
    "prepare",
    "record_keys",
]
