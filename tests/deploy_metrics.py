"""Reading deploy/grafana-dashboard.json and deploy/prometheus-alerts.yml for the metric
names (and labels) their PromQL uses, and a /metrics exposition for the names it exports.

No YAML library is a dependency, so `load_yaml` reads the block-style subset the rules
file is written in (mappings, sequences, quoted and plain scalars, | and > blocks) and
fails loudly on anything else rather than guessing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import CollectorRegistry

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
DASHBOARD = DEPLOY / "grafana-dashboard.json"
ALERTS = DEPLOY / "prometheus-alerts.yml"

# ---- a YAML subset -------------------------------------------------------------------


class YamlSubsetError(ValueError):
    pass


def _scalar(text: str, lineno: int) -> Any:
    text = text.strip()
    if text.startswith('"'):
        end = _closing_quote(text, lineno)
        if text[end + 1 :].strip() and not text[end + 1 :].strip().startswith("#"):
            raise YamlSubsetError(f"line {lineno}: text after a quoted scalar")
        return json.loads(text[: end + 1])
    if text.startswith("'"):
        match = re.fullmatch(r"'((?:[^']|'')*)'\s*(#.*)?", text)
        if not match:
            raise YamlSubsetError(f"line {lineno}: unterminated single-quoted scalar")
        return match.group(1).replace("''", "'")
    text = re.sub(r"\s+#.*$", "", text)
    if text[:1] in ("[", "{", "&", "*", "!", "|", ">", "@", "`"):
        raise YamlSubsetError(f"line {lineno}: {text[:1]!r} is outside the subset")
    if text in ("", "~", "null"):
        return None
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return text


def _closing_quote(text: str, lineno: int) -> int:
    escaped = False
    for i, char in enumerate(text[1:], 1):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == '"':
            return i
    raise YamlSubsetError(f"line {lineno}: unterminated double-quoted scalar")


class _Reader:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.i = 0

    def _skip(self) -> None:
        while self.i < len(self.lines):
            stripped = self.lines[self.i].strip()
            if stripped and not stripped.startswith("#"):
                return
            self.i += 1

    def _indent(self) -> int | None:
        self._skip()
        if self.i >= len(self.lines):
            return None
        line = self.lines[self.i]
        if "\t" in line[: len(line) - len(line.lstrip())]:
            raise YamlSubsetError(f"line {self.i + 1}: tab in indentation")
        return len(line) - len(line.lstrip(" "))

    def node(self, indent: int) -> Any:
        if self.lines[self.i].lstrip(" ").startswith("- ") or self.lines[self.i].strip() == "-":
            return self._sequence(indent)
        return self._mapping(indent)

    def _sequence(self, indent: int) -> list[Any]:
        items: list[Any] = []
        while self._indent() == indent:
            line = self.lines[self.i]
            content = line.lstrip(" ")
            if not (content.startswith("- ") or content == "-"):
                break
            rest = content[2:]
            if not rest.strip():
                self.i += 1
                child = self._indent()
                if child is None or child <= indent:
                    raise YamlSubsetError(f"line {self.i}: empty sequence item")
                items.append(self.node(child))
            elif re.match(r"[^\"'\s][^:]*:(\s|$)", rest):
                self.lines[self.i] = " " * (indent + 2) + rest  # "- key: v" opens a mapping
                items.append(self._mapping(indent + 2))
            else:
                items.append(_scalar(rest, self.i + 1))
                self.i += 1
        return items

    def _mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self._indent() == indent:
            lineno = self.i + 1
            content = self.lines[self.i].strip()
            if content.startswith("- "):
                break
            match = re.fullmatch(r"([A-Za-z0-9_.\-]+):(?:\s+(.*))?", content)
            if not match:
                raise YamlSubsetError(f"line {lineno}: expected 'key: value', got {content!r}")
            key, rest = match.group(1), (match.group(2) or "").strip()
            if key in result:
                raise YamlSubsetError(f"line {lineno}: duplicate key {key!r}")
            self.i += 1
            if re.fullmatch(r"[|>][+-]?", rest):
                result[key] = self._block(indent, folded=rest[0] == ">", chomp=rest[1:])
            elif rest and not rest.startswith("#"):
                result[key] = _scalar(rest, lineno)
            else:
                child = self._indent()
                if child is None or child <= indent:
                    result[key] = None
                else:
                    result[key] = self.node(child)
        found = self._indent()
        if found is not None and found > indent:
            raise YamlSubsetError(f"line {self.i + 1}: unexpected indentation")
        return result

    def _block(self, indent: int, *, folded: bool, chomp: str) -> str:
        raw: list[str] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.strip() and len(line) - len(line.lstrip(" ")) <= indent:
                break
            raw.append(line)
            self.i += 1
        while raw and not raw[-1].strip():
            raw.pop()
        body = [line for line in raw if line.strip()]
        if not body:
            return ""
        cut = min(len(line) - len(line.lstrip(" ")) for line in body)
        lines = [line[cut:] for line in raw]
        text = " ".join(lines) if folded else "\n".join(lines)
        return text if chomp == "-" else text + "\n"


def load_yaml(text: str) -> Any:
    reader = _Reader(text)
    first = reader._indent()
    if first is None:
        return None
    value = reader.node(first)
    if reader._indent() is not None:
        raise YamlSubsetError(f"line {reader.i + 1}: content after the document")
    return value


# ---- PromQL --------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_IDENTIFIER = re.compile(r"(?<![\w.$])[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "atan2", "group_left", "group_right"}
_KEYWORDS |= {"by", "without", "on", "ignoring", "Inf", "inf", "NaN", "nan"}
_SELECTOR = re.compile(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)")


def metric_names(expr: str) -> set[str]:
    """Every metric name a PromQL expression selects (functions and keywords left out)."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = _GROUPING.sub(" ", text)  # label lists
    names = set()
    for match in _IDENTIFIER.finditer(text):
        if text[match.end() :].lstrip().startswith("("):
            continue  # a function (or an aggregation: sum, rate ...)
        if match.group() not in _KEYWORDS:
            names.add(match.group())
    return names


def selector_labels(expr: str) -> dict[str, set[str]]:
    """metric name -> the label names its {...} matchers use."""
    found: dict[str, set[str]] = {}
    for match in _SELECTOR.finditer(expr):
        labels = {m.group(1) for m in _MATCHER.finditer(_STRING.sub('""', match.group(2)))}
        found.setdefault(match.group(1), set()).update(labels)
    return found


def grouping_labels(expr: str) -> set[str]:
    """The label names of by (...), without (...), on (...) ... clauses."""
    labels: set[str] = set()
    for _keyword, names in _GROUPING.findall(_STRING.sub('""', expr)):
        labels.update(n.strip() for n in names.split(",") if n.strip())
    return labels


# ---- the two files -------------------------------------------------------------------


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_exprs(board: dict[str, Any]) -> list[str]:
    """Every panel target's expr, and the metric of each label_values() variable."""
    exprs = [value for key, value in _walk(board.get("panels", [])) if key == "expr"]
    for variable in board.get("templating", {}).get("list", []):
        query = variable.get("query")
        query = query.get("query") if isinstance(query, dict) else query
        if variable.get("type") == "query" and isinstance(query, str):
            match = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\)\s*", query)
            assert match, f"variable {variable.get('name')}: not label_values(): {query!r}"
            exprs.append(match.group(1))
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    loaded = load_yaml(ALERTS.read_text())
    assert isinstance(loaded, dict) and isinstance(loaded.get("groups"), list)
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def deploy_exprs() -> dict[str, list[str]]:
    return {
        DASHBOARD.name: dashboard_exprs(dashboard()),
        ALERTS.name: [rule["expr"] for rule in alert_rules()],
    }


# ---- what /metrics exports -----------------------------------------------------------

SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
}


def exported_series(families: Iterable[Any]) -> dict[str, set[str]]:
    """Series name -> label names, by prometheus-client's naming rules: a counter X is
    X_total (and X_created), a histogram X_bucket/_count/_sum, a gauge just X. Labels
    are those of the family's samples (empty for a family without any yet)."""
    series: dict[str, set[str]] = {}
    for family in families:
        base = family.name.removesuffix("_total") if family.type == "counter" else family.name
        labels = {label for s in family.samples for label in s.labels if label != "le"}
        for suffix in SUFFIXES.get(family.type, ("",)):
            series.setdefault(base + suffix, set()).update(labels)
        if family.type == "histogram":
            series[base + "_bucket"].add("le")
    return series


def exported_by_text(text: str) -> dict[str, set[str]]:
    return exported_series(text_string_to_metric_families(text))


def exported_by_registry(registry: CollectorRegistry) -> dict[str, set[str]]:
    return exported_series(registry.collect())
