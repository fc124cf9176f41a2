"""`{% memo key, ... %}…{% endmemo %}`: a template fragment rendered once per exact key.

For the chrome every page repeats (menu, account box, session warning, footer): its inputs are
few (who is looking, at which address, the session's CSRF token, the commune), and rendering it
is a fair share of a light page. The key lists every value the fragment reads, so an entry is
only ever served for the inputs it was made from; nothing is invalidated. Per environment,
bounded (RenderMemo, which ecp.web.memo uses for whole fragments too). See docs/architecture.md, « Speed ».
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Hashable

from jinja2 import nodes
from jinja2.ext import Extension
from markupsafe import Markup

# Chrome fragments are a few hundred bytes to 3 KB each, kept as they are.
FRAGMENTS = 1024
# Whole fragments (the week grid, 10 to 25 KB of HTML) are kept compressed, about 3 KB each: a
# morning's worth of families reloading their week stays within a few megabytes per process.
DEFAULT_SIZE = 2048


class RenderMemo:
    """A bounded least-recently-used map from an input key to rendered HTML; with `compress`,
    each entry is kept as zlib-compressed UTF-8 (a few tens of microseconds per hit to expand,
    a fifth of the memory)."""

    __slots__ = ("size", "compress", "_entries", "hits", "misses")

    def __init__(self, size: int = DEFAULT_SIZE, *, compress: bool = False) -> None:
        self.size = size
        self.compress = compress
        self._entries: OrderedDict[Hashable, Markup | bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Markup | None:
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        if self.compress:
            return Markup(zlib.decompress(found).decode())
        return found

    def put(self, key: Hashable, value: Markup) -> None:
        self._entries[key] = zlib.compress(value.encode(), 1) if self.compress else value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class FragmentMemo(Extension):
    tags = {"memo"}

    def __init__(self, environment) -> None:
        super().__init__(environment)
        environment.extend(fragment_memo=RenderMemo(FRAGMENTS))

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        keys = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            keys.append(parser.parse_expression())
        body = parser.parse_statements(("name:endmemo",), drop_needle=True)
        call = self.call_method("_render", [nodes.Tuple(keys, "load")])
        return nodes.CallBlock(call, [], [], body).set_lineno(lineno)

    def _render(self, key: tuple, caller):
        memo = self.environment.fragment_memo
        found = memo.get(key)
        if found is None:
            found = caller()
            memo.put(key, found)
        return found
