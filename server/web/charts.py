"""How figures look on the pages: numbers in the page's language, and bar charts drawn on the
server as inline SVG (pygal), so a chart needs no JavaScript and no image request.

The pages' Content-Security-Policy (`server.security_headers`) allows no inline script or
style, so the `<style>`, `<script>`, `style=` attributes and tooltip layer pygal writes are
taken out; the charts are coloured by `static/style.css` (`figure.chart`). Each chart carries
its title and a `<desc>` with the same numbers in words, and the page shows them in a table
too: a chart is never the only way to read a figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pygal
from babel.numbers import format_decimal
from markupsafe import Markup
from pygal.etree import etree  # xml.etree, or lxml when installed: whichever pygal drew with

from server.web import blueprint
from server.web.i18n import language

WIDTH = 520  # of the drawing; the page scales it to its box (style.css, figure.chart)
LABEL_LENGTH = 28  # characters of a bar's label; the full label is in the <desc> and tables
# pygal lays labels out by these sizes; style.css draws them at the same sizes.
_SIZES = pygal.style.Style(label_font_size=14, major_label_font_size=14, value_font_size=13,
                           legend_font_size=14, font_family="Arial, sans-serif")


# --- numbers ----------------------------------------------------------------------------------

def number(value: float | None) -> str:
    """1234 → "1.234" and 64.5 → "64,5" in Vietnamese, "1,234" and "64.5" in English (the
    locale's digits, by Babel); at most one decimal; None → "—"."""
    if value is None:
        return "—"
    return format_decimal(value, format="#,##0.#", locale=language())


def percent(value: float | None) -> str:
    """64.5 → "64,5 %" in Vietnamese, "64.5%" in English; None (no denominator) → "—"."""
    if value is None:
        return "—"
    shown = number(round(float(value), 1))
    return f"{shown} %" if language() == "vi" else f"{shown}%"


blueprint.add_app_template_filter(number, "number")
blueprint.add_app_template_filter(percent, "percent")


# --- charts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One row of bars: its name (the legend), a value per label and where each bar leads."""

    name: str
    values: Sequence[float | None]
    links: Sequence[str | None] = ()


def bar_chart(chart_id: str, title: str, labels: Sequence[str], series: Sequence[Series], *,
              formatter: Callable[[float | None], str] = number,
              maximum: float | None = None) -> Markup:
    """Horizontal bars, one group per label (first label on top), each bar a link when the
    series gives one; `maximum` fixes the value axis (100 for percentages). `chart_id` is the
    `<svg>`'s id on the page."""
    legend = len(series) > 1
    top = maximum or max((v for one in series for v in one.values if v), default=0) or 1
    chart = pygal.HorizontalBar(
        js=[], disable_xml_declaration=True, no_prefix=True, width=WIDTH,
        height=50 + (30 if legend else 0) + 26 * max(1, len(labels)) * len(series),
        show_legend=legend, legend_at_bottom=True, print_values=True,
        truncate_label=-1, truncate_legend=-1, value_formatter=formatter,
        range=(0, top), y_labels=_ticks(top), include_x_axis=True, spacing=6,
        margin=8, margin_right=48,  # room for the figure printed after the longest bar
        print_values_position="top", style=_SIZES)
    # pygal draws the first label at the bottom: reversed, the page's order reads top down.
    chart.x_labels = [_short(label) for label in reversed(labels)]
    for one in series:
        links = list(one.links) or [None] * len(one.values)
        chart.add(one.name, [
            {"value": value, "xlink": {"href": link}} if link and value else value
            for value, link in reversed(list(zip(one.values, links, strict=True)))])
    return _inline(chart.render_tree(), chart_id, title,
                   _description(labels, series, formatter))


def _short(label: str) -> str:
    """A label short enough to leave the bars room: cut at a word, marked with "…"."""
    if len(label) <= LABEL_LENGTH:
        return label
    cut = label[:LABEL_LENGTH - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


def _ticks(top: float) -> list[float]:
    """About five whole-number steps from 0 to `top` (a count has no fractions)."""
    step = max(1, math.ceil(top / 5))
    return list(range(0, math.ceil(top) + step, step))


def _description(labels: Sequence[str], series: Sequence[Series],
                 formatter: Callable[[float | None], str]) -> str:
    """The chart's figures as a sentence per label, for screen readers (`<desc>`)."""
    lines = []
    for index, label in enumerate(labels):
        values = [f"{one.name}: {formatter(one.values[index])}" for one in series]
        lines.append(f"{label} — {', '.join(values)}.")
    return " ".join(lines)


def _inline(root: Any, chart_id: str, title: str, description: str) -> Markup:
    """pygal's SVG, stripped of what the page policy refuses and of what only its scripts
    read, titled and described for assistive technology. The bars' links leave the tab
    order: the tables beside each chart hold the same links for the keyboard."""
    for parent in list(root.iter()):
        for child in list(parent):
            if _drop(child):
                parent.remove(child)
    for element in root.iter():
        element.attrib.pop("style", None)
        element.attrib.pop("id", None)
        if element.tag == "a":
            element.set("tabindex", "-1")
    root.attrib.update({"id": chart_id, "role": "img",
                        "aria-labelledby": f"{chart_id}-title {chart_id}-desc"})
    svg_title = etree.Element("title", id=f"{chart_id}-title")
    svg_title.text = title
    desc = etree.Element("desc", id=f"{chart_id}-desc")
    desc.text = description
    root.insert(0, desc)
    root.insert(0, svg_title)
    # The serializer escaped every label, value and link it wrote.
    return Markup(etree.tostring(root, encoding="unicode"))  # noqa: S704


def _drop(element: Any) -> bool:
    """Comments, inline style and script, pygal's own titles and descriptions (tooltip
    data), and the tooltip layer."""
    if not isinstance(element.tag, str):  # a comment
        return True
    return (element.tag in ("style", "script", "title", "desc", "defs")
            or "tooltip-overlay" in element.attrib.get("class", ""))


__all__ = ["Series", "bar_chart", "number", "percent"]
