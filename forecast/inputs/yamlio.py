"""Safe, bounded YAML reading that remembers where every value came from.

Evidence files are untrusted: we read them with PyYAML's *safe* loader only (no Python tags), refuse
files above a size limit, refuse duplicate keys (PyYAML silently keeps the last one) and keep the
node tree so a pydantic error location such as ``("items", 3, "grade")`` can be turned into a line
number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from forecast.core.errors import Problem

MAX_FILE_BYTES = 2 * 1024 * 1024  # 2 MiB: far above any real spec or evidence file


class _Loader(yaml.SafeLoader):
    """The safe loader without YAML's timestamp resolution.

    PyYAML turns ``2024-13-45`` into an exception deep in its constructor; leaving dates as strings
    lets pydantic parse them and report an impossible date with its file, line and field.
    """


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class LocatedYAML:
    """Parsed YAML data plus its node tree, for mapping error locations to lines."""

    def __init__(self, data: Any, node: yaml.Node | None, path: Path):
        self.data = data
        self.node = node
        self.path = path

    def line_of(self, loc: tuple | list) -> int | None:
        """1-based line of the value at ``loc`` (or of the nearest enclosing value)."""
        node = self.node
        line = node.start_mark.line + 1 if node is not None else None
        for key in loc:
            if isinstance(node, yaml.MappingNode):
                found = None
                for k_node, v_node in node.value:
                    if k_node.value == str(key):
                        found = (k_node, v_node)
                        break
                if found is None:
                    return line
                line = found[0].start_mark.line + 1
                node = found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key >= len(node.value):
                    return line
                node = node.value[key]
                line = node.start_mark.line + 1
            else:
                return line
        return line


def _check_duplicate_keys(node: yaml.Node, path: Path, problems: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for k_node, v_node in node.value:
            key = str(k_node.value)
            line = k_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(str(path), f"duplicate key '{key}' (first on line {seen[key]})", line, key)
                )
            else:
                seen[key] = line
            _check_duplicate_keys(v_node, path, problems)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, path, problems)


def read_text_bounded(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, list[Problem]]:
    """Read a UTF-8 text file, refusing files larger than ``max_bytes``."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        return None, [Problem(str(path), f"cannot read file: {exc.strerror or exc}")]
    if size > max_bytes:
        return None, [Problem(str(path), f"file is {size} bytes, above the {max_bytes}-byte limit")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})")]
    if not text.strip():
        return None, [Problem(str(path), "file is empty")]
    return text, []


def load_yaml(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[LocatedYAML | None, list[Problem]]:
    """Safely parse one YAML document; returns (parsed, problems)."""
    text, problems = read_text_bounded(path, max_bytes)
    if text is None:
        return None, problems
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        if "could not determine a constructor" in str(exc):
            reason = f"unsafe or unknown YAML tag refused ({reason.strip()})"
        return None, [Problem(str(path), f"invalid YAML: {reason}", line)]
    except ValueError as exc:  # a constructor rejecting a value PyYAML recognised
        return None, [Problem(str(path), f"invalid YAML value: {exc}")]
    if data is None:
        return None, [Problem(str(path), "file is empty")]
    _check_duplicate_keys(node, path, problems)
    return LocatedYAML(data, node, path), problems
