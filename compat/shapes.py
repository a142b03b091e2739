"""GraphQL results reshaped into the douyin JSON objects described in compat/objects.py.

Ids become JSON numbers, every field is always present, times become epoch ms or `MM-DD`. Each object's
(key, getter) list is built once at import; shaping a node is then one loop over it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from operator import itemgetter
from typing import Any

from compat.objects import COMMENT, FRIEND_USER, MESSAGE, USER, VIDEO, DouyinObject, Embedded, Field, Viewer

Node = Mapping[str, Any]
Json = dict[str, Any]
Getter = Callable[[Node], Any]


def _reader(source: str) -> Getter:
    """Reads `source` (dotted) from a node; a null on the way reads as None."""
    steps = tuple(source.split("."))
    if len(steps) == 1:
        return itemgetter(source)

    def read(node: Node) -> Any:
        value: Any = node
        for step in steps:
            if value is None:
                return None
            value = value[step]
        return value

    return read


def _converted(source: str, convert: Callable[[Any], Any]) -> Getter:
    if "." not in source:
        return lambda node: convert(node[source])
    read = _reader(source)
    return lambda node: convert(read(node))


def _getters(obj: DouyinObject) -> Iterator[tuple[str, Getter]]:
    """(key, getter) in key order; a field relative to the caller gets its source value, converted later."""
    for member in obj.members:
        if isinstance(member, Field):
            convert = member.convert
            if convert is None or member.by_viewer:
                yield member.key, _reader(member.source)
            else:
                yield member.key, _converted(member.source, convert)
        elif isinstance(member, Embedded):
            yield member.key, _converted(member.source, shaper(member.object))
        else:
            for key, get in _getters(_independent(member.object)):
                yield key, _converted(member.source, get)


def _relative(obj: DouyinObject) -> list[tuple[str, Callable[[Any, Viewer], Any]]]:
    return [
        (member.key, member.convert)
        for member in obj.members
        if isinstance(member, Field) and member.by_viewer and member.convert is not None
    ]


def _independent(obj: DouyinObject) -> DouyinObject:
    """`obj`, which must have no field relative to the caller: only a top-level object is told who that is."""
    if _relative(obj):
        raise TypeError(f"{obj.name} has fields relative to the caller and cannot be nested")
    return obj


def shaper(obj: DouyinObject) -> Callable[[Node], Json]:
    """The JSON of `obj` from its GraphQL node."""
    getters = tuple(_getters(_independent(obj)))

    def shape(node: Node) -> Json:
        json: Json = {}
        for key, get in getters:
            json[key] = get(node)
        return json

    return shape


def viewer_shaper(obj: DouyinObject) -> Callable[[Node, Viewer], Json]:
    """The JSON of `obj` from its GraphQL node, with the fields relative to the caller (`viewer`)."""
    getters, relative = tuple(_getters(obj)), tuple(_relative(obj))

    def shape(node: Node, viewer: Viewer) -> Json:
        json: Json = {}
        for key, get in getters:
            json[key] = get(node)
        for key, convert in relative:  # replacing a key keeps its place
            json[key] = convert(json[key], viewer)
        return json

    return shape


user_json = shaper(USER)
video_json = shaper(VIDEO)
comment_json = shaper(COMMENT)
message_json = shaper(MESSAGE)
# A FriendUser: the User fields plus the latest message and who sent it (1 = the caller).
friend_json = viewer_shaper(FRIEND_USER)
