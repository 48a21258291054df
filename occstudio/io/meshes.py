"""Mesh and point-cloud files: PLY, OBJ, glTF 2.0 (.glb/.gltf) and .npy, read into :class:`MeshData`.

All parsers are written here with numpy (no trimesh/open3d): binary PLY is read with
structured dtypes in one ``np.frombuffer`` call per element, glTF accessors are numpy views
of the binary chunk.

Conventions
-----------
- Vertices are float32 or float64 (N×3), kept in the file's precision where it has one
  (PLY ``float`` → float32, ``double`` → float64; glTF vertices are float64 after the node
  transforms are applied).
- Faces are triangles (M×3, int64). Polygons are fan-triangulated ``(v0, vi, vi+1)``;
  polygons with fewer than three corners are dropped. ``faces`` is ``None`` for a point cloud.
- Vertex colours are uint8 N×3 (RGB) or N×4 (RGBA). Float colours in [0, 1] are scaled by
  255, 16-bit colours by 255/65535. glTF ``COLOR_0`` is taken as stored (no linear→sRGB
  conversion), which is what exporters such as trimesh write.
- A corrupt or truncated file raises :class:`~occstudio.core.errors.DataError` naming the file
  and the problem; a missing file raises :class:`~occstudio.core.errors.MissingFileError`.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from occstudio.core.errors import DataError, MissingFileError, UnknownFormatError
from occstudio.core.persistence import atomic_write

MESH_SUFFIXES = (".ply", ".obj", ".glb", ".gltf", ".npy")


@dataclass
class MeshData:
    """A triangle mesh or a point cloud, as plain numpy arrays.

    Attributes
    ----------
    vertices
        N×3 float32/float64 positions.
    faces
        M×3 integer vertex indices of triangles, or ``None`` for a point cloud.
    vertex_colors
        N×3 or N×4 uint8 colours, or ``None``.
    vertex_normals
        N×3 float normals, or ``None``.
    """

    vertices: np.ndarray
    faces: np.ndarray | None = None
    vertex_colors: np.ndarray | None = None
    vertex_normals: np.ndarray | None = None

    @property
    def n_vertices(self) -> int:
        """Number of vertices (points)."""
        return len(self.vertices)

    @property
    def n_faces(self) -> int:
        """Number of triangles (0 for a point cloud)."""
        return 0 if self.faces is None else len(self.faces)

    @property
    def has_faces(self) -> bool:
        """Whether the mesh has at least one triangle."""
        return self.faces is not None and len(self.faces) > 0

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The axis-aligned bounding box ``(lo, hi)``, each a float64 array of 3.

        Raises
        ------
        ValueError
            The mesh has no vertices.
        """
        if self.n_vertices == 0:
            raise ValueError("an empty mesh has no bounds")
        v = np.asarray(self.vertices, dtype=np.float64)
        return v.min(axis=0), v.max(axis=0)


def read_mesh(path: str | Path) -> MeshData:
    """Read a mesh or point cloud from ``.ply``, ``.obj``, ``.glb``, ``.gltf`` or ``.npy``.

    Parameters
    ----------
    path
        The file. ``.npy`` holds an N×K array (K ≥ 3) whose first three columns are xyz.

    Returns
    -------
    MeshData
        The geometry (see the module docstring for conventions).

    Raises
    ------
    MissingFileError
        The file does not exist.
    UnknownFormatError
        The suffix is not one of the supported ones.
    DataError
        The file is corrupt, truncated or holds no usable geometry.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "mesh file")
    suffix = path.suffix.lower()
    if suffix == ".ply":
        return _read_ply(path)
    if suffix == ".obj":
        return _read_obj(path)
    if suffix in (".glb", ".gltf"):
        return _read_gltf(path)
    if suffix == ".npy":
        return _read_npy(path)
    raise UnknownFormatError(
        f"{path}: unsupported mesh format {suffix!r} (expected {', '.join(MESH_SUFFIXES)})"
    )


# --------------------------------------------------------------------------- helpers


def _fan_triangulate(counts: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Triangles ``(v0, vi, vi+1)`` of polygons given as corner ``counts`` and ``flat`` indices."""
    counts = np.asarray(counts, dtype=np.int64)
    flat = np.asarray(flat, dtype=np.int64)
    if counts.size == 0:
        return np.zeros((0, 3), dtype=np.int64)
    if np.all(counts == 3) and flat.size == 3 * counts.size:
        return flat.reshape(-1, 3)
    starts = np.cumsum(counts) - counts
    n_tri = np.maximum(counts - 2, 0)
    total = int(n_tri.sum())
    if total == 0:
        return np.zeros((0, 3), dtype=np.int64)
    poly = np.repeat(np.arange(counts.size), n_tri)
    local = np.arange(total) - np.repeat(np.cumsum(n_tri) - n_tri, n_tri) + 1
    base = starts[poly]
    return np.stack([flat[base], flat[base + local], flat[base + local + 1]], axis=1)


def _colors_to_uint8(values: np.ndarray) -> np.ndarray:
    """Colours of any numeric type → uint8 (floats in [0, 1] scaled by 255, 16-bit by 1/257)."""
    values = np.asarray(values)
    if values.dtype == np.uint8:
        return np.ascontiguousarray(values)
    if values.dtype.kind == "f":
        v = values.astype(np.float64)
        finite = v[np.isfinite(v)]
        if finite.size == 0 or finite.max() <= 1.0 + 1e-6:
            v = v * 255.0
        return np.clip(np.nan_to_num(np.rint(v)), 0, 255).astype(np.uint8)
    if values.dtype == np.uint16:
        return np.rint(values.astype(np.float64) * (255.0 / 65535.0)).astype(np.uint8)
    return np.clip(values, 0, 255).astype(np.uint8)


def _check_faces(path: Path, faces: np.ndarray, n_vertices: int) -> np.ndarray | None:
    """Validate triangle indices; ``None`` when there are none."""
    if faces.size == 0:
        return None
    lo, hi = int(faces.min()), int(faces.max())
    if lo < 0 or hi >= n_vertices:
        bad = lo if lo < 0 else hi
        raise DataError(path, f"a face refers to vertex {bad} but there are only {n_vertices} vertices")
    return np.ascontiguousarray(faces, dtype=np.int64)


def _check_vertices(path: Path, vertices: np.ndarray) -> None:
    if vertices.size and not np.all(np.isfinite(vertices)):
        raise DataError(path, "vertex coordinates contain NaN or infinite values")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DataError(path, f"cannot read the file: {exc.strerror or exc}") from exc


# --------------------------------------------------------------------------- PLY

_PLY_TYPES = {
    "char": "i1", "int8": "i1",
    "uchar": "u1", "uint8": "u1",
    "short": "i2", "int16": "i2",
    "ushort": "u2", "uint16": "u2",
    "int": "i4", "int32": "i4",
    "uint": "u4", "uint32": "u4",
    "float": "f4", "float32": "f4",
    "double": "f8", "float64": "f8",
    "int64": "i8", "uint64": "u8",
}  # fmt: skip


@dataclass
class _PlyProperty:
    name: str
    code: str  # numpy type code without byte order, e.g. "f4"
    count_code: str | None = None  # set for list properties


@dataclass
class _PlyElement:
    name: str
    count: int
    props: list[_PlyProperty]

    @property
    def has_lists(self) -> bool:
        return any(p.count_code is not None for p in self.props)


# A parsed element: property name -> array (scalars) or (counts, flat values) (lists).
_ElementData = dict[str, Any]


def _parse_ply_header(path: Path, raw: bytes) -> tuple[str, list[_PlyElement], int]:
    """Return ``(format, elements, data_offset)``."""
    if not raw.startswith(b"ply"):
        raise DataError(path, "not a PLY file (it does not start with 'ply')")
    pos = 0
    lines: list[str] = []
    while True:
        nl = raw.find(b"\n", pos)
        if nl < 0:
            raise DataError(path, "PLY header has no end_header")
        try:
            line = raw[pos:nl].decode("ascii").strip()
        except UnicodeDecodeError:
            raise DataError(path, "PLY header has no end_header (binary data inside the header)") from None
        pos = nl + 1
        if line == "end_header":
            break
        lines.append(line)
    fmt: str | None = None
    elements: list[_PlyElement] = []
    for lineno, line in enumerate(lines[1:], 2):
        parts = line.split()
        if not parts or parts[0] in ("comment", "obj_info"):
            continue
        key = parts[0]
        if key == "format":
            if len(parts) < 2 or parts[1] not in ("ascii", "binary_little_endian", "binary_big_endian"):
                raise DataError(path, f"PLY header line {lineno}: unknown format {line!r}")
            fmt = parts[1]
        elif key == "element":
            if len(parts) != 3:
                raise DataError(path, f"PLY header line {lineno}: malformed element line {line!r}")
            try:
                count = int(parts[2])
            except ValueError:
                raise DataError(path, f"PLY header line {lineno}: element count {parts[2]!r} is not an integer") from None
            if count < 0:
                raise DataError(path, f"PLY header line {lineno}: negative element count")
            elements.append(_PlyElement(parts[1], count, []))
        elif key == "property":
            if not elements:
                raise DataError(path, f"PLY header line {lineno}: property before any element")
            if len(parts) >= 2 and parts[1] == "list":
                if len(parts) != 5:
                    raise DataError(path, f"PLY header line {lineno}: malformed list property {line!r}")
                ctype, itype, name = parts[2], parts[3], parts[4]
                for t in (ctype, itype):
                    if t not in _PLY_TYPES:
                        raise DataError(path, f"PLY header line {lineno}: unknown property type {t!r}")
                if _PLY_TYPES[ctype][0] == "f":
                    raise DataError(path, f"PLY header line {lineno}: list count type {ctype!r} is not an integer type")
                elements[-1].props.append(_PlyProperty(name, _PLY_TYPES[itype], _PLY_TYPES[ctype]))
            else:
                if len(parts) != 3:
                    raise DataError(path, f"PLY header line {lineno}: malformed property {line!r}")
                if parts[1] not in _PLY_TYPES:
                    raise DataError(path, f"PLY header line {lineno}: unknown property type {parts[1]!r}")
                elements[-1].props.append(_PlyProperty(parts[2], _PLY_TYPES[parts[1]]))
        else:
            raise DataError(path, f"PLY header line {lineno}: unexpected keyword {key!r}")
    if fmt is None:
        raise DataError(path, "PLY header has no format line")
    return fmt, elements, pos


def _truncated(path: Path, el: _PlyElement, need: int, avail: int) -> DataError:
    return DataError(
        path,
        f"truncated binary data: expected {need} bytes for {el.count} '{el.name}' elements, "
        f"found {max(avail, 0)}",
    )


def _gather(u8: np.ndarray, positions: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Values of ``dtype`` starting at byte ``positions`` of ``u8``."""
    idx = positions.astype(np.int64)[:, None] + np.arange(dtype.itemsize)
    return u8[idx].reshape(-1).view(dtype).astype(dtype.newbyteorder("="))


def _read_binary_element(
    path: Path, buf: bytes, offset: int, el: _PlyElement, order: str
) -> tuple[_ElementData, int]:
    """Read one element of a binary PLY at ``offset``; return its data and the next offset."""
    avail = len(buf) - offset
    n = el.count
    if not el.has_lists:
        dt = np.dtype([(f"f{i}", order + p.code) for i, p in enumerate(el.props)])
        need = n * dt.itemsize
        if need > avail:
            raise _truncated(path, el, need, avail)
        arr = np.frombuffer(buf, dt, n, offset)
        data = {p.name: arr[f"f{i}"].astype(np.dtype(p.code)) for i, p in enumerate(el.props)}
        return data, offset + need
    if n == 0:
        return {p.name: (np.zeros(0, np.int64), np.zeros(0, p.code)) if p.count_code else np.zeros(0, p.code)
                for p in el.props}, offset
    # Fast path: assume every row has the list lengths of the first row, verify afterwards.
    first_counts: dict[int, int] = {}
    pos = offset
    for i, p in enumerate(el.props):
        if p.count_code is None:
            pos += np.dtype(p.code).itemsize
            continue
        cdt = np.dtype(order + p.count_code)
        if pos + cdt.itemsize > len(buf):
            raise _truncated(path, el, pos + cdt.itemsize - offset, avail)
        c = int(np.frombuffer(buf, cdt, 1, pos)[0])
        first_counts[i] = c
        pos += cdt.itemsize + c * np.dtype(p.code).itemsize
    if all(c > 0 for c in first_counts.values()):
        fields = []
        for i, p in enumerate(el.props):
            if p.count_code is None:
                fields.append((f"f{i}", order + p.code))
            else:
                fields.append((f"c{i}", order + p.count_code))
                fields.append((f"f{i}", order + p.code, (first_counts[i],)))
        dt = np.dtype(fields)
        need = n * dt.itemsize
        if need <= avail:
            arr = np.frombuffer(buf, dt, n, offset)
            if all(np.all(arr[f"c{i}"] == c) for i, c in first_counts.items()):
                data: _ElementData = {}
                for i, p in enumerate(el.props):
                    if p.count_code is None:
                        data[p.name] = arr[f"f{i}"].astype(np.dtype(p.code))
                    else:
                        c = first_counts[i]
                        data[p.name] = (np.full(n, c, np.int64), arr[f"f{i}"].astype(np.dtype(p.code)).reshape(-1))
                return data, offset + need
    # Slow path: variable list lengths; walk the rows once to find where each row starts.
    return _read_ragged_element(path, buf, offset, el, order)


def _read_ragged_element(
    path: Path, buf: bytes, offset: int, el: _PlyElement, order: str
) -> tuple[_ElementData, int]:
    n = el.count
    sizes = [np.dtype(p.code).itemsize for p in el.props]
    count_fmts = [(order + _STRUCT_CODES[p.count_code]) if p.count_code else None for p in el.props]
    list_counts = {i: np.empty(n, np.int64) for i, p in enumerate(el.props) if p.count_code}
    row_starts = np.empty(n, np.int64)
    pos = offset
    end = len(buf)
    for r in range(n):
        row_starts[r] = pos
        for i, fmt in enumerate(count_fmts):
            if fmt is None:
                pos += sizes[i]
                continue
            csize = struct.calcsize(fmt)
            if pos + csize > end:
                raise _truncated(path, el, pos + csize - offset, end - offset)
            c = struct.unpack_from(fmt, buf, pos)[0]
            if c < 0:
                raise DataError(path, f"element '{el.name}' row {r}: negative list length {c}")
            list_counts[i][r] = c
            pos += csize + c * sizes[i]
    if pos > end:
        raise _truncated(path, el, pos - offset, end - offset)
    u8 = np.frombuffer(buf, np.uint8)
    rel = np.zeros(n, np.int64)
    data: _ElementData = {}
    for i, p in enumerate(el.props):
        at = row_starts + rel
        if p.count_code is None:
            data[p.name] = _gather(u8, at, np.dtype(order + p.code))
            rel += sizes[i]
            continue
        csize = np.dtype(p.count_code).itemsize
        counts = list_counts[i]
        total = int(counts.sum())
        first = np.cumsum(counts) - counts
        within = np.arange(total) - np.repeat(first, counts)
        item_pos = np.repeat(at + csize, counts) + within * sizes[i]
        data[p.name] = (counts, _gather(u8, item_pos, np.dtype(order + p.code)))
        rel += csize + counts * sizes[i]
    return data, pos


_STRUCT_CODES = {"i1": "b", "u1": "B", "i2": "h", "u2": "H", "i4": "i", "u4": "I", "i8": "q", "u8": "Q"}


def _parse_ascii_values(path: Path, el: _PlyElement, tokens: list[str]) -> np.ndarray:
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        bad = next((t for t in tokens if not _is_number(t)), "?")
        raise DataError(path, f"element '{el.name}': value {bad!r} is not a number") from None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _read_ascii_elements(path: Path, body: bytes, elements: list[_PlyElement]) -> dict[str, _ElementData]:
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise DataError(path, "ASCII PLY data contains non-ASCII bytes") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    pos = 0
    out: dict[str, _ElementData] = {}
    for el in elements:
        rows = lines[pos:pos + el.count]
        if len(rows) < el.count:
            raise DataError(
                path, f"ASCII data ends early: expected {el.count} '{el.name}' lines, found {len(rows)}"
            )
        pos += el.count
        out[el.name] = _ascii_element(path, el, rows)
    return out


def _ascii_element(path: Path, el: _PlyElement, rows: list[str]) -> _ElementData:
    n = el.count
    if not el.has_lists:
        k = len(el.props)
        tokens = " ".join(rows).split()
        if len(tokens) != n * k:
            raise DataError(
                path, f"element '{el.name}': expected {n * k} values ({n} rows × {k} properties), found {len(tokens)}"
            )
        vals = _parse_ascii_values(path, el, tokens).reshape(n, k)
        return {p.name: vals[:, i].astype(p.code) for i, p in enumerate(el.props)}
    if n == 0:
        return {p.name: (np.zeros(0, np.int64), np.zeros(0, p.code)) if p.count_code else np.zeros(0, p.code)
                for p in el.props}
    split = [r.split() for r in rows]
    width = len(split[0])
    if all(len(s) == width for s in split):
        vals = _parse_ascii_values(path, el, [t for s in split for t in s]).reshape(n, width)
        col = 0
        data: _ElementData = {}
        ok = True
        for p in el.props:
            if p.count_code is None:
                data[p.name] = vals[:, col].astype(p.code)
                col += 1
                continue
            c = int(vals[0, col])
            if c <= 0 or col + 1 + c > width or not np.all(vals[:, col] == c):
                ok = False
                break
            data[p.name] = (np.full(n, c, np.int64), vals[:, col + 1:col + 1 + c].astype(p.code).reshape(-1))
            col += 1 + c
        if ok and col == width:
            return data
    # Ragged rows: walk each row.
    scalars: dict[str, list[float]] = {p.name: [] for p in el.props if p.count_code is None}
    counts: dict[str, list[int]] = {p.name: [] for p in el.props if p.count_code is not None}
    items: dict[str, list[str]] = {p.name: [] for p in el.props if p.count_code is not None}
    for r, toks in enumerate(split):
        col = 0
        try:
            for p in el.props:
                if p.count_code is None:
                    scalars[p.name].append(float(toks[col]))
                    col += 1
                else:
                    c = int(float(toks[col]))
                    if c < 0:
                        raise ValueError
                    counts[p.name].append(c)
                    items[p.name].extend(toks[col + 1:col + 1 + c])
                    if col + 1 + c > len(toks):
                        raise IndexError
                    col += 1 + c
        except (ValueError, IndexError):
            raise DataError(path, f"element '{el.name}' row {r}: malformed values {' '.join(toks)!r}") from None
        if col != len(toks):
            raise DataError(path, f"element '{el.name}' row {r}: {len(toks) - col} values too many")
    data = {}
    for p in el.props:
        if p.count_code is None:
            data[p.name] = np.asarray(scalars[p.name], np.float64).astype(p.code)
        else:
            flat = _parse_ascii_values(path, el, items[p.name]).astype(p.code)
            data[p.name] = (np.asarray(counts[p.name], np.int64), flat)
    return data


_COLOR_NAMES = (
    ("red", "green", "blue", "alpha"),
    ("r", "g", "b", "a"),
    ("diffuse_red", "diffuse_green", "diffuse_blue", "diffuse_alpha"),
)


def _read_ply(path: Path) -> MeshData:
    raw = _read_bytes(path)
    fmt, elements, offset = _parse_ply_header(path, raw)
    if fmt == "ascii":
        data = _read_ascii_elements(path, raw[offset:], elements)
    else:
        order = "<" if fmt == "binary_little_endian" else ">"
        data = {}
        for el in elements:
            data[el.name], offset = _read_binary_element(path, raw, offset, el, order)
    if "vertex" not in data:
        raise DataError(path, "PLY file has no 'vertex' element")
    vert = data["vertex"]
    missing = [c for c in "xyz" if c not in vert or isinstance(vert[c], tuple)]
    if missing:
        raise DataError(path, f"PLY 'vertex' element lacks the coordinate(s) {', '.join(missing)}")
    vertices = np.stack([vert["x"], vert["y"], vert["z"]], axis=1)
    if vertices.dtype != np.float32:
        vertices = vertices.astype(np.float64)
    _check_vertices(path, vertices)
    normals = None
    if all(k in vert and not isinstance(vert[k], tuple) for k in ("nx", "ny", "nz")):
        normals = np.stack([vert["nx"], vert["ny"], vert["nz"]], axis=1)
        if normals.dtype.kind != "f":
            normals = normals.astype(np.float32)
    colors = None
    for names in _COLOR_NAMES:
        if all(k in vert and not isinstance(vert[k], tuple) for k in names[:3]):
            chans = [vert[k] for k in names if k in vert and not isinstance(vert[k], tuple)]
            colors = np.stack([_colors_to_uint8(c) for c in chans], axis=1)
            break
    faces = None
    face = data.get("face")
    if face is not None:
        lists = {k: v for k, v in face.items() if isinstance(v, tuple)}
        key = next((k for k in ("vertex_indices", "vertex_index") if k in lists), None)
        if key is None and len(lists) == 1:
            key = next(iter(lists))
        if key is not None:
            counts, flat = lists[key]
            if flat.dtype.kind == "f":
                raise DataError(path, f"PLY face list {key!r} holds floating-point values, not vertex indices")
            faces = _check_faces(path, _fan_triangulate(counts, flat), len(vertices))
        elif face:
            raise DataError(path, "PLY 'face' element has no vertex_indices list")
    return MeshData(vertices=vertices, faces=faces, vertex_colors=colors, vertex_normals=normals)


def write_ply(
    path: str | Path,
    mesh_or_points: MeshData | np.ndarray,
    colors: np.ndarray | None = None,
    binary: bool = True,
) -> None:
    """Write a point cloud or triangle mesh as PLY (atomically: temporary file, then rename).

    Parameters
    ----------
    path
        Output file.
    mesh_or_points
        A :class:`MeshData` (its faces, normals and colours are written) or an N×K array
        whose first three columns are xyz.
    colors
        N×3 (RGB) or N×4 (RGBA) colours, uint8 or floats in [0, 1]; overrides the mesh's own.
    binary
        Binary little endian (default) or ASCII.

    Notes
    -----
    Coordinates and normals are written as ``float`` (float32), colours as ``uchar``
    ``red green blue [alpha]``, faces as ``property list uchar int vertex_indices``.
    """
    path = Path(path)
    if isinstance(mesh_or_points, MeshData):
        vertices = np.asarray(mesh_or_points.vertices)
        faces = mesh_or_points.faces
        normals = mesh_or_points.vertex_normals
        if colors is None:
            colors = mesh_or_points.vertex_colors
    else:
        vertices = np.asarray(mesh_or_points)
        faces = normals = None
    if vertices.ndim != 2 or vertices.shape[1] < 3:
        raise ValueError(f"points must be N×3, got shape {vertices.shape}")
    vertices = vertices[:, :3].astype(np.float32)
    n = len(vertices)
    fields: list[tuple[str, str]] = [("x", "<f4"), ("y", "<f4"), ("z", "<f4")]
    columns: list[np.ndarray] = [vertices[:, 0], vertices[:, 1], vertices[:, 2]]
    if normals is not None:
        normals = np.asarray(normals, dtype=np.float32).reshape(n, 3)
        fields += [("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4")]
        columns += [normals[:, 0], normals[:, 1], normals[:, 2]]
    if colors is not None:
        colors = _colors_to_uint8(np.asarray(colors))
        if colors.ndim != 2 or colors.shape[0] != n or colors.shape[1] not in (3, 4):
            raise ValueError(f"colors must be N×3 or N×4 with N = {n}, got shape {colors.shape}")
        for name, j in zip(("red", "green", "blue", "alpha"), range(colors.shape[1])):
            fields.append((name, "u1"))
            columns.append(colors[:, j])
    tri = None
    if faces is not None and len(faces):
        tri = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
        if tri.min() < 0 or tri.max() >= n:
            raise ValueError("faces refer to vertices that do not exist")
        tri = tri.astype(np.int32)
    type_names = {"<f4": "float", "u1": "uchar"}
    header = [
        "ply",
        f"format {'binary_little_endian' if binary else 'ascii'} 1.0",
        "comment written by occstudio",
        f"element vertex {n}",
        *(f"property {type_names[t]} {name}" for name, t in fields),
    ]
    if tri is not None:
        header += [f"element face {len(tri)}", "property list uchar int vertex_indices"]
    header.append("end_header")
    head = ("\n".join(header) + "\n").encode("ascii")

    def write(fh: Any) -> None:
        fh.write(head)
        if binary:
            rec = np.empty(n, dtype=np.dtype(fields))
            for (name, _), col in zip(fields, columns):
                rec[name] = col
            fh.write(rec.tobytes())
            if tri is not None:
                frec = np.empty(len(tri), dtype=np.dtype([("n", "u1"), ("v", "<i4", (3,))]))
                frec["n"] = 3
                frec["v"] = tri
                fh.write(frec.tobytes())
        else:
            fmts = ["%.9g" if t == "<f4" else "%d" for _, t in fields]
            table = np.empty((n, len(fields)), dtype=object)
            for j, col in enumerate(columns):
                table[:, j] = col.tolist()
            lines = [" ".join(f % v for f, v in zip(fmts, row)) for row in table]
            fh.write(("\n".join(lines) + ("\n" if lines else "")).encode("ascii"))
            if tri is not None:
                fh.write("".join(f"3 {a} {b} {c}\n" for a, b, c in tri.tolist()).encode("ascii"))

    def write_to(temp: Path) -> None:
        with open(temp, "wb") as fh:
            write(fh)

    atomic_write(path, write_to)


# --------------------------------------------------------------------------- OBJ


_OBJ_PATTERNS = {
    key: re.compile(rf"^[ \t]*{key}[ \t]+([^\r\n]*)", re.MULTILINE) for key in ("v", "vn", "f")
}


def _obj_positions(text: str, key: str) -> np.ndarray:
    """Character offsets of every ``key`` line (needed only for relative indices and errors)."""
    return np.fromiter((m.start() for m in _OBJ_PATTERNS[key].finditer(text)), dtype=np.int64)


def _obj_line(text: str, key: str, index: int) -> int:
    """1-based line number of the ``index``-th ``key`` line."""
    pos = int(_obj_positions(text, key)[index])
    return text.count("\n", 0, pos) + 1


def _read_obj(path: Path) -> MeshData:
    text = _read_bytes(path).decode("utf-8", errors="replace")
    v_rows = [r.split() for r in _OBJ_PATTERNS["v"].findall(text)]
    if not v_rows:
        raise DataError(path, "OBJ file has no vertices ('v' lines)")
    widths = {len(r) for r in v_rows}
    width = min(widths)
    if width < 3:
        bad = next(i for i, r in enumerate(v_rows) if len(r) < 3)
        raise DataError(path, f"line {_obj_line(text, 'v', bad)}: a vertex needs x y z")
    try:
        if len(widths) == 1:
            values = np.array([t for r in v_rows for t in r], dtype=np.float64).reshape(len(v_rows), width)
        else:
            values = np.array([r[:width] for r in v_rows], dtype=np.float64)
    except ValueError:
        bad = next(i for i, r in enumerate(v_rows) if not all(_is_number(t) for t in r[:width]))
        line = _obj_line(text, "v", bad)
        raise DataError(path, f"line {line}: cannot read vertex {' '.join(v_rows[bad])!r}") from None
    vertices = values[:, :3].copy()
    _check_vertices(path, vertices)
    colors = _colors_to_uint8(values[:, 3:6]) if width >= 6 else None
    vn = None
    vn_rows = _OBJ_PATTERNS["vn"].findall(text)
    if vn_rows:
        try:
            vn = np.array([r.split()[:3] for r in vn_rows], dtype=np.float64).reshape(-1, 3)
        except ValueError:
            raise DataError(path, "a 'vn' line does not hold three numbers") from None
    nv = len(vertices)
    tri = None
    normals = None
    face_rows = [r.split() for r in _OBJ_PATTERNS["f"].findall(text)]
    if face_rows:
        varr, narr, counts = _obj_face_indices(path, text, face_rows)
        bad = (varr < 0) | (varr >= nv)
        if bad.any():
            face = int(np.searchsorted(np.cumsum(counts), int(np.argmax(bad)), side="right"))
            raise DataError(
                path, f"line {_obj_line(text, 'f', face)}: a face refers to a vertex that does not exist "
                f"({nv} vertices)"
            )
        tri = _check_faces(path, _fan_triangulate(counts, varr), nv)
        has_n = narr >= 0
        if vn is not None and has_n.any():
            if np.any(narr[has_n] >= len(vn)):
                raise DataError(path, "a face refers to a vertex normal ('vn') that does not exist")
            acc = np.zeros((nv, 3))
            np.add.at(acc, varr[has_n], vn[narr[has_n]])
            length = np.linalg.norm(acc, axis=1, keepdims=True)
            normals = np.divide(acc, length, out=np.zeros_like(acc), where=length > 0)
    if normals is None and vn is not None and len(vn) == nv:
        normals = vn
    return MeshData(vertices=vertices, faces=tri, vertex_colors=colors, vertex_normals=normals)


def _obj_corner_numbers(tokens: list[str]) -> tuple[np.ndarray, np.ndarray] | None:
    """Raw (1-based or negative) vertex and normal numbers of every corner token (normal 0: none).

    Vectorised when every corner has the same ``v[/vt[/vn]]`` form; ``None`` when the
    tokens are malformed.
    """
    n = len(tokens)
    zeros = np.zeros(n, dtype=np.int64)
    try:
        slashes = np.char.count(np.asarray(tokens), "/")
        k = int(slashes[0]) if n else 0
        if n and k <= 2 and np.all(slashes == k):
            if k == 0:
                return np.array(tokens, dtype=np.int64), zeros
            joined = " ".join(tokens).replace("//", "/0/").replace("/", " ").split()
            if len(joined) == n * (k + 1):
                nums = np.array(joined, dtype=np.int64).reshape(n, k + 1)
                return nums[:, 0], (nums[:, 2] if k == 2 else zeros)
        parts = [t.split("/") for t in tokens]
        v = np.array([p[0] for p in parts], dtype=np.int64)
        nrm = np.array([p[2] if len(p) >= 3 and p[2] else "0" for p in parts], dtype=np.int64)
        return v, nrm
    except ValueError:
        return None


def _obj_face_indices(
    path: Path, text: str, face_rows: list[list[str]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """0-based vertex and normal (-1: none) index of every face corner, and corners per face.

    Negative (relative) OBJ indices count back from the vertices defined before the face.
    """
    counts = np.fromiter(map(len, face_rows), dtype=np.int64, count=len(face_rows))
    tokens = [t for row in face_rows for t in row]
    parsed = _obj_corner_numbers(tokens)
    if parsed is None or np.any(parsed[0] == 0):
        for i, corners in enumerate(face_rows):  # find the offending line for the message
            for t in corners:
                parts = t.split("/")
                if not (_is_int(parts[0]) and int(parts[0]) != 0) or (
                    len(parts) >= 3 and parts[2] and not _is_int(parts[2])
                ):
                    line = _obj_line(text, "f", i)
                    raise DataError(path, f"line {line}: cannot read face {' '.join(corners)!r}")
        raise DataError(path, "cannot read the faces")
    vraw, nraw = parsed
    if np.any(vraw < 0):
        f_pos = _obj_positions(text, "f")
        nv_at = np.repeat(np.searchsorted(_obj_positions(text, "v"), f_pos), counts)
        vraw = np.where(vraw < 0, nv_at + vraw + 1, vraw)  # -1 → the last vertex defined so far
    if np.any(nraw < 0):
        f_pos = _obj_positions(text, "f")
        nvn_at = np.repeat(np.searchsorted(_obj_positions(text, "vn"), f_pos), counts)
        nraw = np.where(nraw < 0, nvn_at + nraw + 1, nraw)
    varr = vraw - 1  # 0 or below: refers to nothing, reported by the range check
    narr = np.where(nraw > 0, nraw - 1, -1)
    return varr, narr, counts


def _is_int(token: str) -> bool:
    try:
        int(token)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- glTF 2.0

_GLB_MAGIC = b"glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
_GLTF_COMPONENTS = {5120: "i1", 5121: "u1", 5122: "i2", 5123: "u2", 5125: "u4", 5126: "f4"}
_GLTF_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


def _parse_glb(path: Path, raw: bytes) -> tuple[dict, bytes | None]:
    if len(raw) < 12:
        raise DataError(path, f"truncated GLB: {len(raw)} bytes, the header alone needs 12")
    magic, version, length = struct.unpack_from("<4sII", raw, 0)
    if magic != _GLB_MAGIC:
        raise DataError(path, "not a GLB file (bad magic; expected 'glTF')")
    if version != 2:
        raise DataError(path, f"glTF version {version} is not supported (only 2.0)")
    if length > len(raw):
        raise DataError(path, f"truncated GLB: the header says {length} bytes, the file has {len(raw)}")
    pos = 12
    json_chunk = bin_chunk = None
    while pos < length:
        if pos + 8 > length:
            raise DataError(path, f"truncated GLB: chunk header at byte {pos} is cut off")
        clen, ctype = struct.unpack_from("<II", raw, pos)
        if pos + 8 + clen > length:
            raise DataError(
                path, f"truncated GLB: chunk at byte {pos} needs {clen} bytes, {length - pos - 8} remain"
            )
        chunk = raw[pos + 8:pos + 8 + clen]
        if ctype == _CHUNK_JSON and json_chunk is None:
            json_chunk = chunk
        elif ctype == _CHUNK_BIN and bin_chunk is None:
            bin_chunk = chunk
        pos += 8 + clen
    if json_chunk is None:
        raise DataError(path, "GLB file has no JSON chunk")
    return _parse_gltf_json(path, json_chunk), bin_chunk


def _parse_gltf_json(path: Path, data: bytes) -> dict:
    try:
        gltf = json.loads(data.decode("utf-8").rstrip(" \x00"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(path, f"invalid glTF JSON: {exc}") from None
    if not isinstance(gltf, dict):
        raise DataError(path, "invalid glTF JSON: the top level is not an object")
    return gltf


def _gltf_buffers(path: Path, gltf: dict, bin_chunk: bytes | None) -> list[bytes]:
    buffers = []
    for i, b in enumerate(gltf.get("buffers", [])):
        uri = b.get("uri")
        if uri is None:
            if bin_chunk is None:
                raise DataError(path, f"buffer {i} refers to the GLB binary chunk, which is missing")
            data = bin_chunk
        elif uri.startswith("data:"):
            head, _, payload = uri.partition(",")
            if ";base64" not in head:
                raise DataError(path, f"buffer {i}: only base64 data URIs are supported")
            try:
                data = base64.b64decode(payload, validate=False)
            except ValueError:
                raise DataError(path, f"buffer {i}: invalid base64 data") from None
        else:
            ext = path.parent / urllib.parse.unquote(uri)
            if not ext.is_file():
                raise DataError(path, f"buffer {i}: file {uri!r} not found beside the glTF file")
            data = _read_bytes(ext)
        need = int(b.get("byteLength", len(data)))
        if len(data) < need:
            raise DataError(path, f"truncated buffer {i}: expected {need} bytes, found {len(data)}")
        buffers.append(data)
    return buffers


def _gltf_accessor(path: Path, gltf: dict, buffers: list[bytes], index: int) -> np.ndarray:
    """The accessor's values as a (count, width) array of its component type (native order)."""
    try:
        acc = gltf["accessors"][index]
        ctype = np.dtype("<" + _GLTF_COMPONENTS[acc["componentType"]])
        width = _GLTF_WIDTH[acc["type"]]
        count = int(acc["count"])
    except (KeyError, IndexError, TypeError):
        raise DataError(path, f"accessor {index} is missing or malformed") from None
    if "bufferView" in acc:
        out = _gltf_view_values(path, gltf, buffers, acc["bufferView"], acc.get("byteOffset", 0),
                                count, width, ctype, f"accessor {index}")
    else:
        out = np.zeros((count, width), dtype=ctype.newbyteorder("="))
    sparse = acc.get("sparse")
    if sparse:
        try:
            n = int(sparse["count"])
            ind = sparse["indices"]
            itype = np.dtype("<" + _GLTF_COMPONENTS[ind["componentType"]])
            idx = _gltf_view_values(path, gltf, buffers, ind["bufferView"], ind.get("byteOffset", 0),
                                    n, 1, itype, f"accessor {index} sparse indices").reshape(-1)
            val = sparse["values"]
            vals = _gltf_view_values(path, gltf, buffers, val["bufferView"], val.get("byteOffset", 0),
                                     n, width, ctype, f"accessor {index} sparse values")
        except (KeyError, TypeError):
            raise DataError(path, f"accessor {index}: malformed sparse section") from None
        if idx.size and int(idx.max()) >= count:
            raise DataError(path, f"accessor {index}: sparse index out of range")
        out = out.copy()
        out[idx.astype(np.int64)] = vals
    return out


def _gltf_view_values(
    path: Path, gltf: dict, buffers: list[bytes], view_index: int, offset: int,
    count: int, width: int, ctype: np.dtype, what: str,
) -> np.ndarray:
    try:
        view = gltf["bufferViews"][view_index]
        buf = buffers[view["buffer"]]
    except (KeyError, IndexError, TypeError):
        raise DataError(path, f"{what}: bufferView {view_index} or its buffer is missing") from None
    elem = ctype.itemsize * width
    stride = int(view.get("byteStride") or elem)
    start = int(view.get("byteOffset", 0)) + int(offset)
    need = (count - 1) * stride + elem if count else 0
    view_len = int(view.get("byteLength", 0))
    if int(offset) + need > view_len or start + need > len(buf):
        raise DataError(path, f"{what} reads beyond bufferView {view_index} (truncated or malformed data)")
    native = ctype.newbyteorder("=")
    if stride == elem:
        return np.frombuffer(buf, ctype, count * width, start).reshape(count, width).astype(native)
    u8 = np.frombuffer(buf, np.uint8)
    idx = start + np.arange(count, dtype=np.int64)[:, None] * stride + np.arange(elem)
    return u8[idx].reshape(-1).view(ctype).reshape(count, width).astype(native)


def _quat_matrix(q: list[float]) -> np.ndarray:
    x, y, z, w = (float(v) for v in q)
    norm = np.sqrt(x * x + y * y + z * z + w * w) or 1.0
    x, y, z, w = x / norm, y / norm, z / norm, w / norm
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def _node_matrix(path: Path, node: dict) -> np.ndarray:
    try:
        if "matrix" in node:
            return np.asarray(node["matrix"], dtype=np.float64).reshape(4, 4).T  # column-major
        m = np.eye(4)
        s = np.asarray(node.get("scale", [1, 1, 1]), dtype=np.float64).reshape(3)
        m[:3, :3] = _quat_matrix(node.get("rotation", [0, 0, 0, 1])) * s[None, :]
        m[:3, 3] = np.asarray(node.get("translation", [0, 0, 0]), dtype=np.float64).reshape(3)
        return m
    except (ValueError, TypeError):
        raise DataError(path, f"node {node.get('name', '')!r} has a malformed transform") from None


def _gltf_mesh_instances(path: Path, gltf: dict) -> list[tuple[int, np.ndarray]]:
    """(mesh index, world matrix) of every mesh in the default scene."""
    nodes = gltf.get("nodes", [])
    scenes = gltf.get("scenes", [])
    if scenes:
        scene_idx = gltf.get("scene", 0)
        try:
            roots = list(scenes[scene_idx].get("nodes", []))
        except (IndexError, TypeError):
            raise DataError(path, f"default scene {scene_idx} does not exist") from None
    elif nodes:
        children = {c for n in nodes for c in n.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in children]
    else:
        return [(i, np.eye(4)) for i in range(len(gltf.get("meshes", [])))]
    out: list[tuple[int, np.ndarray]] = []
    stack = [(r, np.eye(4), 0) for r in reversed(roots)]
    while stack:
        idx, parent, depth = stack.pop()
        if depth > 64:
            raise DataError(path, "the node hierarchy is too deep (a cycle?)")
        try:
            node = nodes[idx]
        except (IndexError, TypeError):
            raise DataError(path, f"node {idx} does not exist") from None
        world = parent @ _node_matrix(path, node)
        if "mesh" in node:
            out.append((node["mesh"], world))
        for child in reversed(node.get("children", [])):
            stack.append((child, world, depth + 1))
    return out


def _primitive_triangles(mode: int, idx: np.ndarray) -> np.ndarray:
    n = len(idx)
    if mode == 4:
        return idx[: n - n % 3].reshape(-1, 3)
    if n < 3:
        return np.zeros((0, 3), dtype=np.int64)
    i = np.arange(n - 2)
    if mode == 5:  # strip: odd triangles swap the first two corners to keep the winding
        even = (i % 2) == 0
        a = np.where(even, idx[i], idx[i + 1])
        b = np.where(even, idx[i + 1], idx[i])
        return np.stack([a, b, idx[i + 2]], axis=1)
    return np.stack([np.full(n - 2, idx[0]), idx[i + 1], idx[i + 2]], axis=1)  # fan


def _read_gltf(path: Path) -> MeshData:
    raw = _read_bytes(path)
    if raw[:4] == _GLB_MAGIC or path.suffix.lower() == ".glb":
        gltf, bin_chunk = _parse_glb(path, raw)
    else:
        gltf, bin_chunk = _parse_gltf_json(path, raw), None
    buffers = _gltf_buffers(path, gltf, bin_chunk)
    meshes = gltf.get("meshes", [])
    tri_parts: list[dict] = []
    point_parts: list[dict] = []
    for mesh_idx, world in _gltf_mesh_instances(path, gltf):
        try:
            prims = meshes[mesh_idx]["primitives"]
        except (IndexError, KeyError, TypeError):
            raise DataError(path, f"mesh {mesh_idx} does not exist or has no primitives") from None
        for prim in prims:
            mode = int(prim.get("mode", 4))
            if mode not in (0, 4, 5, 6):
                continue  # lines are not surfaces
            attrs = prim.get("attributes", {})
            if "POSITION" not in attrs:
                raise DataError(path, f"a primitive of mesh {mesh_idx} has no POSITION")
            pos = _gltf_accessor(path, gltf, buffers, attrs["POSITION"])
            if pos.shape[1] != 3 or pos.dtype.kind != "f":
                raise DataError(path, f"mesh {mesh_idx}: POSITION must be float VEC3")
            m3 = world[:3, :3]
            verts = pos.astype(np.float64) @ m3.T + world[:3, 3]
            part: dict[str, Any] = {"vertices": verts, "normals": None, "colors": None}
            if "NORMAL" in attrs:
                nrm = _gltf_accessor(path, gltf, buffers, attrs["NORMAL"]).astype(np.float64)[:, :3]
                try:
                    nrm = nrm @ np.linalg.inv(m3)  # (M^-T n) as row vectors
                except np.linalg.LinAlgError:
                    pass
                length = np.linalg.norm(nrm, axis=1, keepdims=True)
                part["normals"] = np.divide(nrm, length, out=np.zeros_like(nrm), where=length > 0)
            if "COLOR_0" in attrs:
                col = _gltf_accessor(path, gltf, buffers, attrs["COLOR_0"])
                if col.shape[1] not in (3, 4):
                    raise DataError(path, f"mesh {mesh_idx}: COLOR_0 must be VEC3 or VEC4")
                if col.dtype.kind == "f":
                    col = np.clip(col, 0.0, 1.0)
                part["colors"] = _colors_to_uint8(col) if col.dtype != np.uint8 else col
            if mode == 0:
                point_parts.append(part)
                continue
            if "indices" in prim:
                idx = _gltf_accessor(path, gltf, buffers, prim["indices"]).reshape(-1).astype(np.int64)
                if idx.size and int(idx.max()) >= len(pos):
                    raise DataError(path, f"mesh {mesh_idx}: an index refers to a vertex that does not exist")
            else:
                idx = np.arange(len(pos), dtype=np.int64)
            tri = _primitive_triangles(mode, idx)
            if np.linalg.det(m3) < 0:
                tri = tri[:, [0, 2, 1]]
            part["faces"] = tri
            tri_parts.append(part)
    parts = tri_parts or point_parts
    if not parts:
        raise DataError(path, "the glTF file holds no triangle or point primitives")
    vertices = np.concatenate([p["vertices"] for p in parts])
    _check_vertices(path, vertices)
    faces = None
    if tri_parts:
        offs = np.cumsum([0] + [len(p["vertices"]) for p in parts[:-1]])
        faces = _check_faces(path, np.concatenate([p["faces"] + o for p, o in zip(parts, offs)]), len(vertices))
    normals = None
    if all(p["normals"] is not None for p in parts):
        normals = np.concatenate([p["normals"] for p in parts])
    colors = None
    if any(p["colors"] is not None for p in parts):
        width = max(p["colors"].shape[1] for p in parts if p["colors"] is not None)
        chunks = []
        for p in parts:
            c = p["colors"]
            if c is None:
                c = np.full((len(p["vertices"]), width), 255, np.uint8)
            elif c.shape[1] < width:
                c = np.concatenate([c, np.full((len(c), 1), 255, np.uint8)], axis=1)
            chunks.append(c)
        colors = np.concatenate(chunks)
    return MeshData(vertices=vertices, faces=faces, vertex_colors=colors, vertex_normals=normals)


# --------------------------------------------------------------------------- .npy


def _read_npy(path: Path) -> MeshData:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"cannot read the .npy array: {exc}") from None
    if arr.ndim != 2 or arr.shape[1] < 3 or arr.dtype.kind not in "fiu":
        raise DataError(path, f"expected an N×3 (or wider) numeric point array, got {arr.dtype} {arr.shape}")
    vertices = np.ascontiguousarray(arr[:, :3])
    if vertices.dtype != np.float32:
        vertices = vertices.astype(np.float64)
    _check_vertices(path, vertices)
    return MeshData(vertices=vertices)
