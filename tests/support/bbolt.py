"""A minimal bbolt (etcd-io/bbolt, file format 2) writer and reader, stdlib only.

The writer builds a whole database file in one pass from a nested mapping:
a ``dict`` is a bucket, ``bytes``/``str`` is a value. Layout (see
docs/trivy-offline.md section 2 and etcd-io/bbolt ``internal/common``):

- page 0 and 1: meta pages (magic, version 2, page size, root bucket, freelist
  page id, high-water page id, txid, FNV-1a-64 checksum over the 56 bytes before it);
- page 2: an empty freelist page;
- pages 3..: the B+trees, written bottom-up (children before parents), so page ids
  are contiguous and every page below the high-water mark is reachable (bbolt's
  ``tx.Check()`` would flag a gap as "unreachable unfreed").

A bucket holding only plain values and taking at most pageSize/4 bytes is stored
*inline* in its parent's leaf (bucket header with root 0, followed by a page image),
exactly as bbolt would. Everything else gets leaf pages (with overflow pages for big
values) and, when it needs more than one leaf, branch pages, level by level.
All integers are little-endian (bbolt uses native order; trivy runs on LE hosts).

The reader (``read_bolt``) walks the same structures back into a nested dict; the
tests use it to check the writer, and it can read files written by Go bbolt.
"""

from __future__ import annotations

import itertools
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAGIC = 0xED0CDAED
VERSION = 2
PAGE_HEADER = struct.Struct("<QHHI")  # id, flags, count, overflow
LEAF_ELEM = struct.Struct("<IIII")  # flags, pos, ksize, vsize
BRANCH_ELEM = struct.Struct("<IIQ")  # pos, ksize, pgid
BUCKET_HEADER = struct.Struct("<QQ")  # root pgid, sequence
META = struct.Struct("<IIIIQQQQQ")  # magic..txid (56 bytes); checksum follows
BRANCH, LEAF, META_FLAG, FREELIST = 0x01, 0x02, 0x04, 0x10
BUCKET_LEAF_FLAG = 0x01

# str or bytes keys -> a Tree, bytes or str (Any: a Mapping's key type is invariant, so a
# dict[str, ...] would not be a Mapping[str | bytes, ...])
Tree = Mapping[Any, Any]


def fnv1a64(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def _b(x: str | bytes) -> bytes:
    return x.encode("utf-8") if isinstance(x, str) else bytes(x)


class _Writer:
    def __init__(self, page_size: int) -> None:
        self.page_size = page_size
        self.pages: list[bytes] = []  # page images for ids 3.. (each a multiple of page_size)
        self.next_id = 3

    def _alloc(self, flags: int, count: int, body: bytes) -> int:
        size = PAGE_HEADER.size + len(body)
        npages = max(1, -(-size // self.page_size))
        pgid = self.next_id
        image = PAGE_HEADER.pack(pgid, flags, count, npages - 1) + body
        self.pages.append(image.ljust(npages * self.page_size, b"\0"))
        self.next_id += npages
        return pgid

    @staticmethod
    def _leaf_body(items: list[tuple[bytes, int, bytes]]) -> bytes:
        n = len(items)
        elems, data = bytearray(), bytearray()
        for i, (key, flags, value) in enumerate(items):
            pos = (n - i) * LEAF_ELEM.size + len(data)  # relative to this element
            elems += LEAF_ELEM.pack(flags, pos, len(key), len(value))
            data += key + value
        return bytes(elems + data)

    @staticmethod
    def _branch_body(items: list[tuple[bytes, int]]) -> bytes:
        n = len(items)
        elems, data = bytearray(), bytearray()
        for i, (key, pgid) in enumerate(items):
            pos = (n - i) * BRANCH_ELEM.size + len(data)
            elems += BRANCH_ELEM.pack(pos, len(key), pgid)
            data += key
        return bytes(elems + data)

    def _chunks(self, sizes: list[int]) -> list[tuple[int, int]]:
        """Greedy split of elements into pages; a lone big element gets overflow pages."""
        out, start, used = [], 0, PAGE_HEADER.size
        for i, sz in enumerate(sizes):
            if i > start and used + sz > self.page_size:
                out.append((start, i))
                start, used = i, PAGE_HEADER.size
            used += sz
        out.append((start, len(sizes)))
        return out

    def bucket_value(self, tree: Tree) -> bytes:
        """The value stored under a bucket's key in its parent: header (+ inline page)."""
        items = self._items(tree)
        inline_size = PAGE_HEADER.size + sum(LEAF_ELEM.size + len(k) + len(v)
                                             for k, _, v in items)
        if all(f == 0 for _, f, _ in items) and inline_size <= self.page_size // 4:
            page = PAGE_HEADER.pack(0, LEAF, len(items), 0) + self._leaf_body(items)
            return BUCKET_HEADER.pack(0, 0) + page
        return BUCKET_HEADER.pack(self.write_tree(items), 0)

    def _items(self, tree: Tree) -> list[tuple[bytes, int, bytes]]:
        keyed = sorted(((_b(k), v) for k, v in tree.items()), key=lambda kv: kv[0])
        for a, b in itertools.pairwise(keyed):
            if a[0] == b[0]:
                raise ValueError(f"duplicate key {a[0]!r}")
        items = []
        for key, value in keyed:
            if not key:
                raise ValueError("bbolt keys must not be empty")
            if isinstance(value, Mapping):
                items.append((key, BUCKET_LEAF_FLAG, self.bucket_value(value)))
            else:
                items.append((key, 0, _b(value)))
        return items

    def write_tree(self, items: list[tuple[bytes, int, bytes]]) -> int:
        """Leaf pages, then branch levels until one root page; returns the root pgid."""
        level: list[tuple[bytes, int]] = []
        sizes = [LEAF_ELEM.size + len(k) + len(v) for k, _, v in items]
        for start, end in self._chunks(sizes):
            chunk = items[start:end]
            pgid = self._alloc(LEAF, len(chunk), self._leaf_body(chunk))
            level.append((chunk[0][0] if chunk else b"", pgid))
        while len(level) > 1:
            sizes = [BRANCH_ELEM.size + len(k) for k, _ in level]
            parents = []
            for start, end in self._chunks(sizes):
                group = level[start:end]
                parents.append((group[0][0], self._alloc(BRANCH, len(group),
                                                         self._branch_body(group))))
            level = parents
        return level[0][1]


def _meta_page(pgid: int, page_size: int, root: int, high_water: int, txid: int) -> bytes:
    meta = META.pack(MAGIC, VERSION, page_size, 0, root, 0, 2, high_water, txid)
    body = meta + struct.pack("<Q", fnv1a64(meta))
    return (PAGE_HEADER.pack(pgid, META_FLAG, 0, 0) + body).ljust(page_size, b"\0")


def build_bolt(tree: Tree, page_size: int = 4096) -> bytes:
    """The bytes of a bbolt file whose root bucket holds ``tree``'s top-level buckets."""
    for key, value in tree.items():
        if not isinstance(value, Mapping):
            raise ValueError(f"top-level key {key!r} must be a bucket (bbolt has no root values)")
    w = _Writer(page_size)
    root = w.write_tree(w._items(tree))
    freelist = PAGE_HEADER.pack(2, FREELIST, 0, 0).ljust(page_size, b"\0")
    return b"".join([_meta_page(0, page_size, root, w.next_id, 0),
                     _meta_page(1, page_size, root, w.next_id, 1), freelist, *w.pages])


def write_bolt(path: Path, tree: Tree, page_size: int = 4096) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(build_bolt(tree, page_size))
    return path


# ---------------------------------------------------------------------------- reader

BoltDict = dict[bytes, "BoltDict | bytes"]


def read_bolt(data: bytes) -> BoltDict:
    """Parse a bbolt file into {key: value | {nested...}}; validates meta checksums."""
    def meta_at(off: int) -> tuple[int, ...] | None:
        if len(data) < off + PAGE_HEADER.size + META.size + 8:
            return None
        raw = data[off + PAGE_HEADER.size: off + PAGE_HEADER.size + META.size]
        fields = META.unpack(raw)
        (checksum,) = struct.unpack_from("<Q", data, off + PAGE_HEADER.size + META.size)
        ok = fields[0] == MAGIC and fields[1] == VERSION and checksum == fnv1a64(raw)
        return fields if ok else None

    first = meta_at(0)
    second = meta_at(first[2] if first else 4096)
    metas = [m for m in (first, second) if m is not None]
    if not metas:
        raise ValueError("no valid meta page (bad magic, version or checksum)")
    best = max(metas, key=lambda m: m[8])
    page_size, root = best[2], best[4]

    def page(pgid: int) -> tuple[int, int, int]:
        pid, flags, count, _overflow = PAGE_HEADER.unpack_from(data, pgid * page_size)
        if pid != pgid:
            raise ValueError(f"page {pgid} has id {pid}")
        return pgid * page_size, flags, count

    def leaf_items(buf: bytes, base: int, count: int) -> BoltDict:
        out: BoltDict = {}
        for i in range(count):
            at = base + PAGE_HEADER.size + i * LEAF_ELEM.size
            flags, pos, ks, vs = LEAF_ELEM.unpack_from(buf, at)
            key = bytes(buf[at + pos: at + pos + ks])
            value = bytes(buf[at + pos + ks: at + pos + ks + vs])
            out[key] = bucket(value) if flags & BUCKET_LEAF_FLAG else value
        return out

    def walk(pgid: int) -> BoltDict:
        base, flags, count = page(pgid)
        if flags & LEAF:
            return leaf_items(data, base, count)
        if not flags & BRANCH:
            raise ValueError(f"page {pgid}: unexpected flags {flags:#x}")
        out: BoltDict = {}
        for i in range(count):
            at = base + PAGE_HEADER.size + i * BRANCH_ELEM.size
            _pos, _ks, child = BRANCH_ELEM.unpack_from(data, at)
            out.update(walk(child))
        return out

    def bucket(value: bytes) -> BoltDict:
        broot, _seq = BUCKET_HEADER.unpack_from(value, 0)
        if broot == 0:
            inline = value[BUCKET_HEADER.size:]
            _pid, _flags, count, _ov = PAGE_HEADER.unpack_from(inline, 0)
            return leaf_items(inline, 0, count)
        return walk(broot)

    return walk(root)


def check_bolt(data: bytes) -> list[str]:
    """A subset of bbolt's ``tx.Check()``: page ids match their position, no page is
    referenced twice, every page below the high-water mark is reachable (or the
    freelist), keys are sorted, branch keys equal their child's first key."""
    errors: list[str] = []
    page_size = META.unpack_from(data, PAGE_HEADER.size)[2]
    meta = max((META.unpack_from(data, off + PAGE_HEADER.size) for off in (0, page_size)),
               key=lambda m: m[8])
    root, freelist, high_water = meta[4], meta[6], meta[7]
    if len(data) != high_water * page_size:
        errors.append(f"file size {len(data)} != high water {high_water} * {page_size}")
    seen: dict[int, str] = {}

    def mark(pgid: int, what: str) -> tuple[int, int, int] | None:
        pid, flags, count, overflow = PAGE_HEADER.unpack_from(data, pgid * page_size)
        if pid != pgid:
            errors.append(f"page {pgid}: stored id {pid} ({what})")
            return None
        for p in range(pgid, pgid + overflow + 1):
            if p in seen:
                errors.append(f"page {p}: multiple references ({seen[p]}, {what})")
            seen[p] = what
        return pgid * page_size, flags, count

    def keys_of(buf: bytes, base: int, count: int, elem: struct.Struct) -> list[bytes]:
        out = []
        for i in range(count):
            at = base + PAGE_HEADER.size + i * elem.size
            if elem is LEAF_ELEM:
                _f, pos, ks, _vs = elem.unpack_from(buf, at)
            else:
                pos, ks, _pg = elem.unpack_from(buf, at)
            out.append(bytes(buf[at + pos: at + pos + ks]))
        if out != sorted(out):
            errors.append(f"unsorted keys at offset {base}")
        return out

    def leaf(buf: bytes, base: int, count: int, what: str) -> list[bytes]:
        keys = keys_of(buf, base, count, LEAF_ELEM)
        for i in range(count):
            at = base + PAGE_HEADER.size + i * LEAF_ELEM.size
            flags, pos, ks, vs = LEAF_ELEM.unpack_from(buf, at)
            if flags & BUCKET_LEAF_FLAG:
                value = bytes(buf[at + pos + ks: at + pos + ks + vs])
                broot = BUCKET_HEADER.unpack_from(value, 0)[0]
                name = f"{what}/{keys[i].decode('utf-8', 'replace')}"
                if broot == 0:
                    _p, iflags, icount, _o = PAGE_HEADER.unpack_from(value, BUCKET_HEADER.size)
                    if iflags != LEAF:
                        errors.append(f"{name}: inline page flags {iflags:#x}")
                    leaf(value[BUCKET_HEADER.size:], 0, icount, name)
                else:
                    tree(broot, name)
        return keys

    def tree(pgid: int, what: str) -> bytes | None:
        got = mark(pgid, what)
        if got is None:
            return None
        base, flags, count = got
        if flags == LEAF:
            keys = leaf(data, base, count, what)
        elif flags == BRANCH:
            keys = keys_of(data, base, count, BRANCH_ELEM)
            for i, key in enumerate(keys):
                at = base + PAGE_HEADER.size + i * BRANCH_ELEM.size
                first = tree(BRANCH_ELEM.unpack_from(data, at)[2], what)
                if first is not None and first != key:
                    errors.append(f"page {pgid}: branch key {key!r} != child's first {first!r}")
        else:
            errors.append(f"page {pgid}: flags {flags:#x} in a tree ({what})")
            return None
        return keys[0] if keys else b""

    mark(0, "meta")
    mark(1, "meta")
    got = mark(freelist, "freelist")
    if got is not None and got[1] != FREELIST:
        errors.append(f"page {freelist}: not a freelist page")
    tree(root, "root")
    for p in range(high_water):
        if p not in seen:
            errors.append(f"page {p}: unreachable unfreed")
    return errors
