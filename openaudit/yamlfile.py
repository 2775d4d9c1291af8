"""Load user-facing YAML files (profiles, policies) into pydantic models with precise errors.

Every error names the file, the line and the field, because the people who write these files
fix them from the message alone.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from openaudit.card import MAX_YAML_ALIASES, SafeLoader, _check_yaml_bounds
from openaudit.errors import ConfigFileError

M = TypeVar("M", bound=BaseModel)
MAX_CONFIG_BYTES = 2 * 1024 * 1024


def read_yaml(path: Path, text: str | None = None, nodes: bool = True) -> tuple[Any, yaml.Node | None]:
    """Parse safely; returns (data, node tree for line lookups; None unless `nodes`)."""
    if text is None:
        from openaudit.userfiles import read_text_capped

        text = read_text_capped(path, MAX_CONFIG_BYTES)  # by bytes read: /dev/zero is refused, not read
    if not nodes:
        from openaudit.compiled import parsed

        ready = parsed(text)  # a built-in criteria file's exact text: parsed ahead of time
        if ready is not None:
            return ready, None
    try:
        _check_yaml_bounds(text)
        node = yaml.compose(text, Loader=SafeLoader) if nodes else None
        data = yaml.load(text, Loader=SafeLoader)
    except ValueError as e:
        msg = str(e)
        if "digits" in msg:  # int() of a number of thousands of digits (sys.get_int_max_str_digits)
            msg = "a number with too many digits; not read"
        elif "alias" in msg:
            msg += f" (at most {MAX_YAML_ALIASES} aliases)"
        raise ConfigFileError(str(path), msg) from None
    except RecursionError:
        raise ConfigFileError(str(path), "YAML nested too deeply") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigFileError(str(path), f"malformed YAML: {problem}", line=mark.line + 1 if mark else None) from None
    return data, node


def line_of(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest node reachable along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    cur = node
    for part in loc:
        if isinstance(cur, yaml.MappingNode):
            nxt = None
            for k, v in cur.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    nxt = v
                    line = k.start_mark.line + 1
                    break
            cur = nxt
        elif isinstance(cur, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(cur.value):
            cur = cur.value[part]
            line = cur.start_mark.line + 1
        else:
            break
        if cur is None:
            break
    return line


Loc = tuple[int | str, ...]


def _find_scalar(node: yaml.Node | None, value: str, loc: Loc = ()) -> list[tuple[Loc, int]]:
    """Every (location, line) where a scalar equal to `value` sits, in document order."""
    if isinstance(node, yaml.ScalarNode):
        return [(loc, node.start_mark.line + 1)] if node.value == value else []
    found: list[tuple[Loc, int]] = []
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode):
                found += _find_scalar(v, value, (*loc, k.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            found += _find_scalar(v, value, (*loc, i))
    return found


def _locate_named(node: yaml.Node | None, msg: str) -> Loc:
    """A whole-document check (duplicate id, undefined reference) names the offending value last:
    point at its last occurrence (the duplicate, or the reference), not at line 1."""
    for token in reversed(re.findall(r"[\w.:-]+", msg)):
        hits = _find_scalar(node, token.strip("'\""))
        if hits:
            return hits[-1][0]
    return ()


def validation_error(path: Path, node: yaml.Node | None, err: ValidationError) -> ConfigFileError:
    first = err.errors()[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith(("function-", "tagged-"))))
    if not loc:
        loc = _locate_named(node, first["msg"])
    field = ".".join(str(p) for p in loc) or None
    msg = first["msg"]
    more = len(err.errors()) - 1
    if more:
        msg += f" (and {more} more error{'s' if more > 1 else ''})"
    return ConfigFileError(str(path), msg, line=line_of(node, loc), field=field)


def load_model(path: Path, model: type[M], text: str | None = None) -> M:
    # The node tree (for the line of an error) is built only for a file that has one: every run
    # loads five profiles and the flags, and composing them again cost ~40 ms.
    data, _ = read_yaml(path, text, nodes=False)
    if not isinstance(data, dict):
        raise ConfigFileError(str(path), "expected a YAML mapping at the top level", line=1)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        _, node = read_yaml(path, text)
        raise validation_error(path, node, e) from None
