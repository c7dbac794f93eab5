from sync.matching import BlockingKey, InMemoryIndex, blocking_keys
from sync.matching.compare import Field
from tests.matching.builders import child


def test_candidates_are_the_records_sharing_a_key_with_their_child_ids() -> None:
    index = InMemoryIndex()
    an, binh = child("Nguyễn Văn An"), child("Phạm Thu Bình", "2019-01-01", mother="Lý Thị Hoa",
                                             head="Phạm Văn Tú", village="T09")
    index.add(an, "A")
    index.add(binh, "B")
    found = list(index.candidates(blocking_keys(child("Nguyen Van An", submission="s2"))))
    assert found == [("A", an)]
    assert index.child_of(binh.record_id) == "B" and len(index) == 2


def test_an_oversized_block_is_skipped() -> None:
    index = InMemoryIndex(max_block=2)
    for i in range(3):
        index.add(child(f"Nguyễn Văn An{'h' * i}", f"201{i}-01-01"), f"C{i}")
    head = [k for k in blocking_keys(child("Nguyễn Văn An")) if k.key_type == "head"]
    assert list(index.candidates(head)) == []
    assert index.oversized_lookups == 1
    assert list(index.candidates([BlockingKey("nothing", "here")])) == []


def test_common_names_are_more_frequent_than_rare_ones() -> None:
    index = InMemoryIndex()
    for i, name in enumerate(["Nguyễn Văn An", "Nguyễn Văn An", "Lý Văn An", "Lý Văn Khôi"]):
        index.add(child(name, f"201{i}-01-01"), f"C{i}")
    assert index.frequency(Field.FAMILY_NAME, "nguyen") == 0.5
    assert index.frequency(Field.GIVEN_NAME, "khoi") == 0.25
    assert index.mean_frequency(Field.GIVEN_NAME) == (9 + 1) / 16
    assert index.frequency(Field.SEX, "M") is None
    assert InMemoryIndex().mean_frequency(Field.GIVEN_NAME) is None


def test_reviewer_decisions_are_remembered_per_record() -> None:
    index = InMemoryIndex()
    index.add_cannot_link("r1", "A")
    assert set(index.cannot_link_children("r1")) == {"A"}
    assert not index.cannot_link_children("r2")
