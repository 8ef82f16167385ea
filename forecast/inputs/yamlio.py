"""Safe, bounded YAML reading that remembers where every value came from.

Evidence files are untrusted: we read them with PyYAML's *safe* loader only (no Python tags), refuse
files above a size limit, anything but a regular file (a pipe would block the reader), documents
nested deeper than :data:`MAX_DEPTH` or whose aliases expand them by more than
:data:`MAX_ALIAS_VALUES` values (both counted while composing, before anything is built), refuse
duplicate keys (PyYAML silently keeps the last one) and keep the node tree so a pydantic error
location such as ``("items", 3, "grade")`` can be turned into a line number. A parse error inside
a multi-line construct (an unclosed quote or bracket) is reported on the line where it starts.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

import yaml

from forecast.core.errors import Problem, os_error_message

MAX_FILE_BYTES = 2 * 1024 * 1024  # 2 MiB: far above any real spec or evidence file


# Bounds on the shape of a document, enforced while it is composed (before anything is built from it):
# a 320-byte file of nested aliases ("billion laughs") expands to 10**9 values, and 20,000 nested
# brackets overflow the recursive composer. Real spec and evidence files are 3-6 levels deep and use
# aliases, if at all, to repeat a source name or a quote.
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 100_000  # values that aliases add to the document once expanded


class _Loader(yaml.SafeLoader):
    """The safe loader without YAML's timestamp resolution, composing within bounds.

    PyYAML turns ``2024-13-45`` into an exception deep in its constructor; leaving dates as strings
    lets pydantic parse them and report an impossible date with its file, line and field.

    While composing, it counts the values that aliases add to the document once expanded (an alias
    adds the expanded size of the node it names, counted the same way) and the nesting depth, and
    stops with an error at the alias or node that crosses :data:`MAX_ALIAS_VALUES` or
    :data:`MAX_DEPTH`. An alias to a node that encloses it (a cyclic document) is refused too.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._expanded = 0  # values of the document so far, aliases expanded
        self._added = 0  # of which added by aliases
        self._sizes: dict[int, int] = {}
        self._open_anchors: set[str] = set()

    def _alias(self, n: int, mark) -> None:
        self._expanded += n
        self._added += n
        if self._added > MAX_ALIAS_VALUES:
            raise yaml.composer.ComposerError(
                None, None, f"aliases expand the document by more than {MAX_ALIAS_VALUES:,} values (aliases repeating aliases); refused", mark
            )

    def compose_node(self, parent, index):
        event = self.peek_event()
        mark = event.start_mark
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open_anchors:
                raise yaml.composer.ComposerError(None, None, f"alias *{event.anchor} refers to a node that contains it (a cyclic document); refused", mark)
            node = super().compose_node(parent, index)
            self._alias(self._sizes.get(id(node), 1), mark)
            return node
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nesting deeper than {MAX_DEPTH} levels; refused", mark)
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            self._open_anchors.add(anchor)
        before = self._expanded
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
            self._open_anchors.discard(anchor)
        self._expanded += 1
        self._sizes[id(node)] = self._expanded - before
        return node


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


def _check_duplicate_keys(node: yaml.Node, path: Path, problems: list[Problem], seen_nodes: set[int] | None = None) -> None:
    seen_nodes = set() if seen_nodes is None else seen_nodes
    if id(node) in seen_nodes:  # an alias: its node was checked where it was defined
        return
    seen_nodes.add(id(node))
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
            _check_duplicate_keys(v_node, path, problems, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_duplicate_keys(item, path, problems, seen_nodes)


def read_text_bounded(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, list[Problem]]:
    """Read a UTF-8 text file (a leading byte-order mark is dropped), refusing files above ``max_bytes``.

    Returns ``(text, [])`` or ``(None, problems)``; a problem names the file and the kind of
    failure (missing, a folder, permission denied, not UTF-8, empty), never the file's content.
    """
    path = Path(path)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    except OSError as exc:
        return None, [Problem(str(path), os_error_message(exc, path, "read"))]
    if not stat.S_ISREG(info.st_mode):  # a pipe or a device: reading could block for ever
        return None, [Problem(str(path), "not a regular file (a pipe or a device): not read")]
    size = info.st_size
    if size > max_bytes:
        return None, [Problem(str(path), f"file is {size} bytes, above the {max_bytes}-byte limit")]
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(str(path), os_error_message(exc, path, "read"))]
    if len(raw) > max_bytes:  # grew since stat, or a special file
        return None, [Problem(str(path), f"file is above the {max_bytes}-byte limit")]
    try:
        text = raw.decode("utf-8-sig")  # Excel and Notepad start UTF-8 files with a byte-order mark
    except UnicodeDecodeError as exc:
        hint = " (save it as UTF-8)" if raw[:2] not in (b"\xff\xfe", b"\xfe\xff") else " (it is UTF-16: save it as UTF-8)"
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start}){hint}", line)]
    if "\x00" in text:
        return None, [Problem(str(path), "contains NUL bytes: not a text file", text[: text.index("\x00")].count("\n") + 1)]
    if not text.strip():
        return None, [Problem(str(path), "file is empty")]
    return text, []


def _yaml_error(exc: yaml.YAMLError, path: Path) -> Problem:
    """A parse error located at the line where the construct it occurred in *starts*.

    PyYAML notices an unclosed bracket or quote only where the file ends or the next construct
    begins; the line that needs fixing is the one where the construct was opened.
    """
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    problem_mark = getattr(exc, "problem_mark", None)
    context_mark = getattr(exc, "context_mark", None)
    reason = (problem or str(exc)).strip()
    if "could not determine a constructor" in str(exc):
        reason = f"unsafe or unknown YAML tag refused ({reason})"
    if context_mark is not None and context:
        line = context_mark.line + 1
        noticed = f" (noticed on line {problem_mark.line + 1})" if problem_mark is not None and problem_mark.line != context_mark.line else ""
        return Problem(str(path), f"invalid YAML: {context} that starts on this line: {reason}{noticed}", line)
    line = problem_mark.line + 1 if problem_mark is not None else None
    return Problem(str(path), f"invalid YAML: {reason}", line)


def load_yaml(path: Path, max_bytes: int = MAX_FILE_BYTES) -> tuple[LocatedYAML | None, list[Problem]]:
    """Safely parse one YAML document within bounds; returns (parsed, problems).

    Bounds: the file size (``max_bytes``), the nesting depth (:data:`MAX_DEPTH`) and the number of
    values aliases add once expanded (:data:`MAX_ALIAS_VALUES`); duplicate keys are problems.
    """
    text, problems = read_text_bounded(path, max_bytes)
    if text is None:
        return None, problems
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        return None, [_yaml_error(exc, path)]
    except RecursionError:  # cannot happen within MAX_DEPTH; kept so no traceback ever reaches a user
        return None, [Problem(str(path), f"invalid YAML: nested too deeply (more than {MAX_DEPTH} levels)")]
    except ValueError as exc:  # a constructor rejecting a value PyYAML recognised
        return None, [Problem(str(path), f"invalid YAML value: {exc}")]
    finally:
        loader.dispose()
    if data is None:
        return None, [Problem(str(path), "file is empty")]
    _check_duplicate_keys(node, path, problems)
    return LocatedYAML(data, node, path), problems
