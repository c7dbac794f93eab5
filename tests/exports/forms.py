"""Small XForms for export tests, written the way pyxform writes them."""

from __future__ import annotations

HEAD = ('<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml" '
        'xmlns:jr="http://openrosa.org/javarosa" xmlns:orx="http://openrosa.org/xforms">')

# The form of Central's observed export (docs/openrosa.md §9).
PEER_TINY = (
    f"{HEAD}<h:head><h:title>peer_tiny</h:title><model><instance>"
    '<data id="peer_tiny" version="1"><name/><age/><meta><instanceID/></meta></data>'
    '</instance><bind nodeset="/data/name" type="string"/>'
    '<bind nodeset="/data/age" type="int"/>'
    '<bind nodeset="/data/meta/instanceID" type="string" readonly="true()" jr:preload="uid"/>'
    '</model></h:head><h:body><input ref="/data/name"><label>Name</label></input>'
    '<input ref="/data/age"><label>Age</label></input></h:body></h:html>'
)

# A repeat inside a group, a repeat inside that repeat, a select_multiple, a decimal.
NESTED = (
    f"{HEAD}<h:head><h:title>Hộ gia đình</h:title><model><instance>"
    '<data id="nested" version="3"><hh><name/><member jr:template=""><mname/><tags/>'
    '<visit jr:template=""><vdate/><weight/></visit></member></hh>'
    "<orx:meta><orx:instanceID/></orx:meta></data></instance>"
    '<bind nodeset="/data/hh/name" type="string"/>'
    '<bind nodeset="/data/hh/member/mname" type="string"/>'
    '<bind nodeset="/data/hh/member/tags" type="string"/>'
    '<bind nodeset="/data/hh/member/visit/vdate" type="date"/>'
    '<bind nodeset="/data/hh/member/visit/weight" type="decimal"/>'
    '<bind nodeset="/data/orx:meta/orx:instanceID" type="string" readonly="true()"/>'
    "</model></h:head><h:body>"
    '<group ref="/data/hh"><input ref="/data/hh/name"><label>Tên</label></input>'
    '<group ref="/data/hh/member"><repeat nodeset="/data/hh/member">'
    '<input ref="/data/hh/member/mname"><label>Thành viên</label></input>'
    '<select ref="/data/hh/member/tags"><label>Nhãn</label>'
    "<item><label>A</label><value>a</value></item></select>"
    '<repeat nodeset="/data/hh/member/visit">'
    '<input ref="/data/hh/member/visit/vdate"><label>Ngày</label></input>'
    '<input ref="/data/hh/member/visit/weight"><label>Cân nặng</label></input>'
    "</repeat></repeat></group></group></h:body></h:html>"
)


def nested_instance(instance_id: str) -> str:
    """Two members; the first visited twice, the second once."""
    return (
        '<data id="nested" version="3" xmlns:orx="http://openrosa.org/xforms">'
        "<hh><name>Nhà ông Tư</name>"
        "<member><mname>Út</mname><tags>a b</tags>"
        "<visit><vdate>2026-01-02</vdate><weight>12.5</weight></visit>"
        "<visit><vdate>2026-02-03</vdate><weight>13</weight></visit></member>"
        "<member><mname>Tèo</mname><tags/><visit><vdate>2026-03-04</vdate><weight/></visit>"
        "</member></hh>"
        f"<orx:meta><orx:instanceID>{instance_id}</orx:instanceID></orx:meta></data>"
    )
