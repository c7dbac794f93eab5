"""The field tree read from XForms: what every export's columns and properties follow."""

from __future__ import annotations

from exports.schema import form_schema, odata_name
from tests.conftest import fixture_bytes
from tests.exports.forms import NESTED


def test_screening_form_fields_in_document_order() -> None:
    schema = form_schema(fixture_bytes("child_screening.xml"))

    assert [(f.path, f.type) for f in schema.walk()] == [
        ("/start", "dateTime"), ("/end", "dateTime"), ("/household_head", "string"),
        ("/visit_date", "date"), ("/village", "string"), ("/location", "geopoint"),
        ("/house_photo", "binary"), ("/num_children", "int"), ("/child", "repeat"),
        ("/child/child_name", "string"), ("/child/child_age", "int"),
        ("/child/orphan", "string"), ("/child/orphan_detail", "string"),
        ("/child/child_label", "string"), ("/child/meta", "structure"),
        ("/child/meta/entity", "structure"), ("/child/meta/entity/label", "string"),
        ("/child_count", "string"), ("/summary", "string"), ("/meta", "structure"),
        ("/meta/instanceID", "string"), ("/meta/instanceName", "string"),
    ]


def test_template_and_first_repeat_instance_make_one_field() -> None:
    schema = form_schema(NESTED)

    assert [r.path for r in schema.repeats()] == ["/hh/member", "/hh/member/visit"]
    assert schema.find("/hh/member/tags").select_multiple  # type: ignore[union-attr]


def test_namespaced_meta_matches_its_prefixed_bind() -> None:
    schema = form_schema(NESTED)

    assert schema.find("/meta/instanceID").type == "string"  # type: ignore[union-attr]


def test_odata_names_are_sanitised_like_centrals() -> None:
    assert odata_name("child_age") == "child_age"
    assert odata_name("1st-visit") == "_1st_visit"
    assert odata_name("tên.trẻ") == "t_n_tr_"
