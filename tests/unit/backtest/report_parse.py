"""Read the HTML reports as structure: the plotly figures embedded as JSON and the text a person sees."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from typing import Any

import numpy as np


def decode(obj: Any) -> Any:
    """plotly's JSON with its typed arrays ({"dtype", "bdata"}) decoded into numpy arrays."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            if "shape" in obj:
                arr = arr.reshape([int(x) for x in str(obj["shape"]).split(",")])
            return arr
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(v) for v in obj]
    return obj


def figures(page: str) -> dict[str, dict[str, Any]]:
    """{figure id: {"data": [...], "layout": {...}}} of every figure on a report page."""
    out = {}
    for m in re.finditer(r'<script type="application/json" id="([^"]+)-json"[^>]*>(.*?)</script>', page, re.S):
        out[m.group(1)] = decode(json.loads(m.group(2).replace("<\\/", "</")))
    return out


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.skip = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def visible_text(page: str) -> str:
    """What a person reads on the page (no script, no style)."""
    p = _Text()
    p.feed(page)
    return " ".join(" ".join(p.parts).split())


def table_rows(page: str, table_id: str) -> list[list[str]]:
    """The cells' text of one table, row by row (header row included)."""
    m = re.search(rf'<table[^>]*id="{re.escape(table_id)}"[^>]*>(.*?)</table>', page, re.S)
    assert m, f"no table {table_id}"
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", m.group(1), re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", tr, re.S)
        rows.append([visible_text(c) for c in cells])
    return rows


def axis_name(trace: dict[str, Any], axis: str = "y") -> str:
    """'y', 'y2'... of a trace (plotly omits the default)."""
    return trace.get(f"{axis}axis", axis)


def layout_axis(layout: dict[str, Any], name: str) -> dict[str, Any]:
    """layout['yaxis2'] for 'y2'."""
    return layout.get(name[0] + "axis" + name[1:], {})
