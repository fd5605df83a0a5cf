"""Base worlds: ``[scenario] extends = "FILE"`` — a world file as another one with changes.

A world file may name a base world (a path relative to itself). Its effective content is the base's
(itself possibly extending another, at most ``MAX_BASES`` deep) with the file merged over it:

- **tables** (``[idp]``, ``[vault.egress]``, an agent's ``integrations``, inline tables) merge key
  by key, recursively: a key only one file has is kept;
- **any other value** — string, number, boolean, time, array of values, an array of inline tables
  such as ``fga.tuples`` — replaces the base's value wholesale;
- **arrays of tables whose elements have an identity** (``world_schema``: ``ArrayOf(key=...)``, e.g.
  ``[[phases]]`` by ``number``, ``[[people]]`` and ``[[agents]]`` by ``id``, ``[[providers]]`` by
  ``name``) merge element by element: an element whose identity is a base element's merges into it
  (the rules above, recursively), any other is added after the base's; the other arrays of tables
  (``[[expectations]]``, ``[[approval_rules]]``, ``[[managed_connections]]``, ...) replace wholesale;
- **``[scenario] drop = [PATH, ...]``** removes parts of the base before the file is merged over
  it: a section or key (``"pricing"``, ``"vault.egress.internal_sources"``), or the elements of an
  array of tables whose field has a value (``"phases[number=8]"``,
  ``"expectations[event=output_filter.egress_allowed]"``, ``"agents[id=a1].integrations.slack"``).
  A path that matches nothing in the base is an error. To replace an array with identities
  wholesale, drop it and declare the new elements.

``extends`` and ``drop`` apply to the file that says them and are not part of the effective world.
The effective world is then parsed like any world file; ``WorldIndex`` remembers which file and
line each value came from, so an error names that file and line. Its ``sha256`` covers every file.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path as FilePath
from typing import Any

import attrs

from scenarios.toml_lines import Path, TomlIndex, index_toml, parse_path, toml_error_line
from scenarios.world_schema import SECTIONS, FREE, ArrayOf, Shape, Table

MAX_BASES = 4
"""How many files a chain of ``extends`` may add to the file named (a base of a base ... )."""

_SELECTOR = re.compile(r"([A-Za-z0-9_-]+)(?:\[([A-Za-z0-9_-]+)=([^\]]*)\])?")


class ExtendsError(ValueError):
    """A problem at ``where`` in file ``source`` (line ``line``); ``scenarios.world`` makes it a WorldError."""

    def __init__(self, *, source: str, line: int | None, where: str, problem: str) -> None:
        super().__init__(problem)
        self.source, self.line, self.where, self.problem = source, line, where, problem


@attrs.frozen(kw_only=True)
class WorldFile:
    """One file of a world: the file named first, then its base, the base's base..."""

    source: str
    text: str
    index: TomlIndex


@attrs.frozen(kw_only=True)
class WorldIndex:
    """Which file and line each key path of an effective world comes from.

    ``origins`` maps a path of the effective data (``phases[7].name``) to the file (an index into
    ``files``) and the path the value has in that file; ``None`` for a world of one file.
    """

    files: tuple[WorldFile, ...]
    origins: Mapping[Path, tuple[int, Path]] | None = None

    def place(self, where: str) -> tuple[str, int | None, str]:
        """The file and line of ``where`` or of its longest prefix found (a missing key: its table),
        and ``where`` as that file says it (``phases[7].user`` of the effective world may be
        ``phases[0].user`` of the file that extends the base)."""
        full = parse_path(where)
        path = full
        while path:
            found = self._origin(path)
            if found is not None:
                file, original = found
                line = file.index.lines.get(original)
                if line is not None:
                    return file.source, line, where if original == path else _dotted(original + full[len(path):])
            path = path[:-1]
        return self.files[0].source, None, where

    def locate(self, where: str) -> tuple[str, int | None]:
        """The file and line of ``where`` (``place``)."""
        source, line, _ = self.place(where)
        return source, line

    def line_of(self, where: str) -> int | None:
        """The line of ``where`` (``TomlIndex.line_of``) in the file it comes from (``source_of``)."""
        return self.locate(where)[1]

    def source_of(self, where: str) -> str:
        """The file ``where`` (or its closest enclosing table) comes from."""
        return self.locate(where)[0]

    def string_line(self, where: str, offset: int) -> int | None:
        """The line of the ``offset``-th line inside the string value at ``where``, in its file."""
        found = self._origin(parse_path(where))
        if found is None:
            return None
        file, original = found
        start = file.index.strings.get(original)
        return None if start is None else start + offset

    def _origin(self, path: Path) -> tuple[WorldFile, Path] | None:
        if self.origins is None:
            return self.files[0], path
        found = self.origins.get(path)
        return None if found is None else (self.files[found[0]], found[1])


@attrs.frozen(kw_only=True)
class EffectiveWorld:
    """The merged data of a world file and its bases, where each value is, and their hash."""

    data: dict[str, Any]
    index: WorldIndex
    sha256: str


# -- reading the chain --------------------------------------------------------------------------------
def _parse(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ExtendsError(source=source, line=toml_error_line(error, text), where="",
                           problem=f"invalid TOML: {error}") from None


def _fail(file: WorldFile, where: str, problem: str) -> ExtendsError:
    return ExtendsError(source=file.source, line=file.index.line_of(where) or 1, where=where, problem=problem)


def _base_of(file: WorldFile, extends: Any, chain: list[tuple[WorldFile, FilePath]]) -> tuple[str, FilePath]:
    if not isinstance(extends, str) or not extends.strip():
        raise _fail(file, "scenario.extends", "expected a non-empty string (a world file, relative to this one)")
    source = os.path.normpath(os.path.join(os.path.dirname(file.source), extends))
    resolved = FilePath(source).resolve()
    names = " -> ".join(FilePath(f.source).name for f, _ in chain)
    if any(resolved == seen for _, seen in chain):
        raise _fail(file, "scenario.extends", f"a cycle: {names} -> {FilePath(source).name}")
    if len(chain) > MAX_BASES:
        raise _fail(file, "scenario.extends", f"more than {MAX_BASES} base worlds: {names} -> ...")
    return source, resolved


def _read_base(file: WorldFile, source: str) -> str:
    try:
        return FilePath(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _fail(file, "scenario.extends", f"no such world file {source}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _fail(file, "scenario.extends", f"cannot read {source}: {type(error).__name__}") from None


def resolve_world(text: str, *, source: str) -> EffectiveWorld:
    """``text`` (the file ``source``) merged over its bases (module docstring)."""
    data = _parse(text, source)
    first = WorldFile(source=source, text=text, index=index_toml(text))
    layers: list[tuple[WorldFile, dict[str, Any]]] = [(first, data)]
    chain: list[tuple[WorldFile, FilePath]] = [(first, FilePath(source).resolve())]
    while "extends" in _scenario(layers[-1][1]):
        file, data = layers[-1]
        base_source, resolved = _base_of(file, _scenario(data)["extends"], chain)
        base_text = _read_base(file, base_source)
        base_data = _parse(base_text, base_source)
        layers.append((WorldFile(source=base_source, text=base_text, index=index_toml(base_text)), base_data))
        chain.append((layers[-1][0], resolved))
    file, data = layers[-1]
    if "drop" in _scenario(data):
        raise _fail(file, "scenario.drop", "drops from a base world: needs scenario.extends")
    if len(layers) == 1:
        return EffectiveWorld(data=data, index=WorldIndex(files=(first,)),
                              sha256=hashlib.sha256(text.encode()).hexdigest())
    files = tuple(file for file, _ in layers)
    merged = _wrap(data, len(layers) - 1, ())
    for number in range(len(layers) - 2, -1, -1):
        file, layer = layers[number]
        _scenario(layer).pop("extends")
        drop = _scenario(layer).pop("drop", None)
        if drop is not None:
            _drop(merged, drop, file)
        merged = _merge(merged, _wrap(layer, number, ()), Table(keys=SECTIONS), files)
    origins: dict[Path, tuple[int, Path]] = {}
    effective = _unwrap(merged, (), origins)
    digest = hashlib.sha256()
    for file in files:
        raw = file.text.encode()
        digest.update(b"%d\n" % len(raw))
        digest.update(raw)
    return EffectiveWorld(data=effective, index=WorldIndex(files=files, origins=origins), sha256=digest.hexdigest())


def _scenario(data: dict[str, Any]) -> dict[str, Any]:
    scenario = data.get("scenario")
    return scenario if isinstance(scenario, dict) else {}


# -- merging ------------------------------------------------------------------------------------------
@attrs.define
class _Node:
    """A value with the file (index into the chain) and the path it has there."""

    value: Any  # dict[str, _Node] | list[_Node] | a TOML scalar or array of scalars
    file: int
    path: Path


def _wrap(value: Any, file: int, path: Path) -> _Node:
    if isinstance(value, dict):
        return _Node({k: _wrap(v, file, path + (k,)) for k, v in value.items()}, file, path)
    if isinstance(value, list):
        return _Node([_wrap(v, file, path + (i,)) for i, v in enumerate(value)], file, path)
    return _Node(value, file, path)


def _unwrap(node: _Node, path: Path, origins: dict[Path, tuple[int, Path]]) -> Any:
    if path:
        origins[path] = (node.file, node.path)
    if isinstance(node.value, dict):
        return {k: _unwrap(v, path + (k,), origins) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [_unwrap(v, path + (i,), origins) for i, v in enumerate(node.value)]
    return node.value


def _child(shape: Shape, key: str) -> Shape:
    if isinstance(shape, Table):
        return shape.keys.get(key)
    return FREE if shape is FREE else None


def _merge(base: _Node, top: _Node, shape: Shape, files: tuple[WorldFile, ...]) -> _Node:
    if isinstance(base.value, dict) and isinstance(top.value, dict):
        merged = dict(base.value)
        for key, value in top.value.items():
            merged[key] = _merge(base.value[key], value, _child(shape, key), files) if key in base.value else value
        return _Node(merged, top.file, top.path)
    if (isinstance(shape, ArrayOf) and shape.key is not None and isinstance(base.value, list)
            and isinstance(top.value, list)):
        return _merge_elements(base, top, shape, files)
    return top


def _identity(node: _Node, key: str) -> Any:
    value = node.value.get(key) if isinstance(node.value, dict) else None
    return value.value if value is not None and isinstance(value.value, (str, int)) else None


def _merge_elements(base: _Node, top: _Node, shape: ArrayOf, files: tuple[WorldFile, ...]) -> _Node:
    key = shape.key
    assert key is not None
    elements = list(base.value)
    position = {_identity(e, key): i for i, e in enumerate(elements) if _identity(e, key) is not None}
    seen: set[Any] = set()
    for element in top.value:
        identity = _identity(element, key)
        if identity is not None and identity in seen:
            where = _dotted(element.path + (key,))
            raise _fail(files[element.file], where, f"{identity!r} is declared twice in this file")
        seen.add(identity)
        if identity is not None and identity in position:
            elements[position[identity]] = _merge(elements[position[identity]], element, shape.element, files)
        else:
            elements.append(element)
    return _Node(elements, top.file, top.path)


def _dotted(path: Path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))


# -- drop ---------------------------------------------------------------------------------------------
def _drop(base: _Node, paths: Any, file: WorldFile) -> None:
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise _fail(file, "scenario.drop", 'expected a list of paths (e.g. ["pricing", "phases[number=8]"])')
    for i, raw in enumerate(paths):
        where = f"scenario.drop[{i}]"
        steps = _steps(raw)
        if steps is None:
            raise _fail(file, where, f"not a path: {raw!r} (NAME, NAME.KEY, NAME[FIELD=VALUE]...)")
        if not _remove(base, steps):
            raise _fail(file, where, f"{raw!r} matches nothing in the base world")


def _steps(raw: str) -> list[tuple[str, str | None, str | None]] | None:
    steps, pos = [], 0
    while True:
        match = _SELECTOR.match(raw, pos)
        if match is None:
            return None
        steps.append((match.group(1), match.group(2), match.group(3)))
        pos = match.end()
        if pos == len(raw):
            return steps
        if raw[pos] != ".":
            return None
        pos += 1


def _matches(element: _Node, field: str, value: str) -> bool:
    found = element.value.get(field) if isinstance(element.value, dict) else None
    if found is None or isinstance(found.value, bool) or not isinstance(found.value, (str, int)):
        return False
    return str(found.value) == value


def _remove(table: _Node, steps: list[tuple[str, str | None, str | None]]) -> bool:
    """Remove what ``steps`` names under ``table``; whether anything was removed."""
    if not isinstance(table.value, dict):
        return False
    (name, field, value), rest = steps[0], steps[1:]
    if name not in table.value:
        return False
    if field is None:
        if not rest:
            del table.value[name]
            return True
        return _remove(table.value[name], rest)
    array = table.value[name]
    if not isinstance(array.value, list):
        return False
    chosen = [e for e in array.value if _matches(e, field, value or "")]
    if not rest:
        array.value[:] = [e for e in array.value if not any(e is c for c in chosen)]
        return bool(chosen)
    return any([_remove(e, rest) for e in chosen])
