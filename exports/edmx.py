"""The OData service document and `$metadata` (EDMX/CSDL 4.0) of a form, as Central shapes them.

Central (lib/formats/odata.js): namespace `org.opendatakit.submission` holds the `__system`
metadata type and its enums; `org.opendatakit.user.<formId>` holds one EntityType per table
(`Submissions`, `Submissions.<repeat>` …) keyed by `__id`, one ComplexType per group, and the
EntityContainer. Types: int → Edm.Int64, decimal → Edm.Decimal, geopoint →
Edm.GeographyPoint, date → Edm.Date, dateTime → Edm.DateTimeOffset, everything else Edm.String.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import quoteattr

from exports.odata import parent_key
from exports.schema import REPEAT, STRUCTURE, Field, FormSchema, odata_name

FQDN_ROOT = "org.opendatakit.user"
EDM_TYPES = {
    "int": "Edm.Int64", "decimal": "Edm.Decimal", "boolean": "Edm.Boolean",
    "geopoint": "Edm.GeographyPoint", "geotrace": "Edm.GeographyLineString",
    "geoshape": "Edm.GeographyPolygon", "date": "Edm.Date", "dateTime": "Edm.DateTimeOffset",
}
_SYSTEM_TYPE = [
    ("submissionDate", "Edm.DateTimeOffset"), ("updatedAt", "Edm.DateTimeOffset"),
    ("deletedAt", "Edm.DateTimeOffset"), ("submitterId", "Edm.String"),
    ("submitterName", "Edm.String"), ("attachmentsPresent", "Edm.Int64"),
    ("attachmentsExpected", "Edm.Int64"), ("status", "org.opendatakit.submission.Status"),
    ("reviewState", "org.opendatakit.submission.ReviewState"), ("deviceId", "Edm.String"),
    ("edits", "Edm.Int64"), ("formVersion", "Edm.String"),
]


def table_name(repeat: Field) -> str:
    """`Submissions.group.child` for the repeat at `/group/child`."""
    return ".".join(["Submissions", *(odata_name(p) for p in repeat.path.strip("/").split("/"))])


def service_document(schema: FormSchema, metadata_url: str) -> dict[str, Any]:
    tables = ["Submissions", *(table_name(r) for r in schema.repeats())]
    return {"@odata.context": metadata_url,
            "value": [{"name": t, "kind": "EntitySet", "url": t} for t in tables]}


@dataclass
class _Type:
    name: str
    entity: bool
    properties: list[str] = field(default_factory=list)


def _prop(name: str, kind: str, navigation: bool = False) -> str:
    tag = "NavigationProperty" if navigation else "Property"
    return f"<{tag} Name={quoteattr(name)} Type={quoteattr(kind)}/>"


def _collect(fields: tuple[Field, ...], into: _Type, fqdn: str, schema: FormSchema,
             types: list[_Type]) -> None:
    for item in fields:
        name = odata_name(item.name)
        dotted = ".".join(odata_name(p) for p in item.path.strip("/").split("/"))
        if item.type == STRUCTURE:
            complex_type = _Type(dotted, entity=False)
            types.append(complex_type)
            into.properties.append(_prop(name, f"{fqdn}.{dotted}"))
            _collect(item.children, complex_type, fqdn, schema, types)
        elif item.type == REPEAT:
            entity = _Type(f"Submissions.{dotted}", entity=True,
                           properties=[_prop(parent_key(item, schema), "Edm.String")])
            types.append(entity)
            into.properties.append(_prop(name, f"Collection({fqdn}.Submissions.{dotted})",
                                         navigation=True))
            _collect(item.children, entity, fqdn, schema, types)
        else:
            into.properties.append(_prop(name, EDM_TYPES.get(item.type, "Edm.String")))


_SYSTEM_SCHEMA = (
    '<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" '
    'Namespace="org.opendatakit.submission">'
    '<ComplexType Name="metadata">'
    + "".join(_prop(n, t) for n, t in _SYSTEM_TYPE)
    + "</ComplexType>"
    '<EnumType Name="Status"><Member Name="notDecrypted"/>'
    '<Member Name="missingEncryptedFormData"/></EnumType>'
    '<EnumType Name="ReviewState"><Member Name="hasIssues"/><Member Name="edited"/>'
    '<Member Name="rejected"/><Member Name="approved"/></EnumType>'
    "</Schema>"
)

_CAPABILITIES = (
    '<Annotation Term="Org.OData.Capabilities.V1.ConformanceLevel" '
    'EnumMember="Org.OData.Capabilities.V1.ConformanceLevelType/Minimal"/>'
    '<Annotation Term="Org.OData.Capabilities.V1.BatchSupported" Bool="false"/>'
    '<Annotation Term="Org.OData.Capabilities.V1.CountRestrictions"><Record>'
    '<PropertyValue Property="Countable" Bool="true"/></Record></Annotation>'
    '<Annotation Term="Org.OData.Capabilities.V1.SortRestrictions"><Record>'
    '<PropertyValue Property="Sortable" Bool="false"/></Record></Annotation>'
    '<Annotation Term="Org.OData.Capabilities.V1.ExpandRestrictions"><Record>'
    '<PropertyValue Property="Expandable" Bool="false"/></Record></Annotation>'
)


def _type_xml(kind: _Type) -> str:
    if not kind.entity:
        return (f"<ComplexType Name={quoteattr(kind.name)}>{''.join(kind.properties)}"
                "</ComplexType>")
    system = (_prop("__system", "org.opendatakit.submission.metadata")
              if kind.name == "Submissions" else "")
    return (f"<EntityType Name={quoteattr(kind.name)}><Key><PropertyRef Name=\"__id\"/></Key>"
            f"{_prop('__id', 'Edm.String')}{system}{''.join(kind.properties)}</EntityType>")


def metadata_document(schema: FormSchema, xml_form_id: str) -> str:
    fqdn = f"{FQDN_ROOT}.{odata_name(xml_form_id)}"
    submissions = _Type("Submissions", entity=True)
    types: list[_Type] = [submissions]
    _collect(schema.fields, submissions, fqdn, schema, types)
    entities = [t for t in types if t.entity]
    container = "".join(
        f"<EntitySet Name={quoteattr(t.name)} EntityType={quoteattr(f'{fqdn}.{t.name}')}>"
        f"{_CAPABILITIES if t.name == 'Submissions' else ''}</EntitySet>"
        for t in entities)
    body = "".join(_type_xml(t) for t in entities + [t for t in types if not t.entity])
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">'
        f"<edmx:DataServices>{_SYSTEM_SCHEMA}"
        f'<Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace={quoteattr(fqdn)}>'
        f"{body}<EntityContainer Name={quoteattr(xml_form_id)}>{container}</EntityContainer>"
        "</Schema></edmx:DataServices></edmx:Edmx>"
    )
