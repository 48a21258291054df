"""Mesh / point-cloud IO: PLY (ascii, binary LE/BE), OBJ, glTF 2.0 (.glb, .gltf), .npy."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from occstudio.core.errors import DataError, MissingFileError, UnknownFormatError
from occstudio.io.meshes import MeshData, read_mesh, write_ply

# --------------------------------------------------------------------------- fixtures


def _tetra(colors: bool = True, normals: bool = False) -> MeshData:
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1.5]], dtype=np.float32)
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], dtype=np.int64)
    c = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]], dtype=np.uint8) if colors else None
    n = None
    if normals:
        n = v - v.mean(axis=0)
        n = (n / np.linalg.norm(n, axis=1, keepdims=True)).astype(np.float32)
    return MeshData(vertices=v, faces=f, vertex_colors=c, vertex_normals=n)


def _pad(data: bytes, fill: bytes) -> bytes:
    return data + fill * (-len(data) % 4)


def make_glb(gltf: dict, binary: bytes) -> bytes:
    """A GLB container built by hand: 12-byte header, JSON chunk, BIN chunk (4-byte padded)."""
    js = _pad(json.dumps(gltf).encode(), b" ")
    bn = _pad(binary, b"\0")
    body = struct.pack("<II", len(js), 0x4E4F534A) + js + struct.pack("<II", len(bn), 0x004E4942) + bn
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body


def _triangle_gltf(nodes: list[dict], scene_nodes: list[int]) -> tuple[dict, bytes]:
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32).tobytes()  # 36 bytes
    idx = _pad(np.array([0, 1, 2], dtype=np.uint16).tobytes(), b"\0")  # 6 -> 8 bytes
    col = np.array([[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 128]], dtype=np.uint8).tobytes()
    binary = pos + idx + col
    gltf = {
        "asset": {"version": "2.0"},
        "scene": 0,
        "scenes": [{"nodes": scene_nodes}],
        "nodes": nodes,
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "COLOR_0": 2}, "indices": 1, "mode": 4}]}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [
            {"buffer": 0, "byteOffset": 0, "byteLength": 36},
            {"buffer": 0, "byteOffset": 36, "byteLength": 6},
            {"buffer": 0, "byteOffset": 44, "byteLength": 12},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
             "min": [0, 0, 0], "max": [1, 1, 0]},
            {"bufferView": 1, "componentType": 5123, "count": 3, "type": "SCALAR"},
            {"bufferView": 2, "componentType": 5121, "normalized": True, "count": 3, "type": "VEC4"},
        ],
    }
    return gltf, binary


# --------------------------------------------------------------------------- MeshData


def test_meshdata_properties() -> None:
    mesh = _tetra()
    assert mesh.n_vertices == 4 and mesh.n_faces == 4 and mesh.has_faces
    lo, hi = mesh.bounds()
    assert np.allclose(lo, [0, 0, 0]) and np.allclose(hi, [1, 1, 1.5])
    cloud = MeshData(vertices=np.zeros((2, 3)))
    assert not cloud.has_faces and cloud.n_faces == 0
    with pytest.raises(ValueError):
        MeshData(vertices=np.zeros((0, 3))).bounds()


# --------------------------------------------------------------------------- PLY


@pytest.mark.parametrize("binary", [True, False])
def test_ply_round_trip(tmp_path: Path, binary: bool) -> None:
    mesh = _tetra(colors=True, normals=True)
    path = tmp_path / "m.ply"
    write_ply(path, mesh, binary=binary)
    head = path.read_bytes()[:60]
    assert (b"binary_little_endian" in head) == binary
    back = read_mesh(path)
    assert back.vertices.dtype == np.float32
    np.testing.assert_array_equal(back.vertices, mesh.vertices)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_array_equal(back.vertex_colors, mesh.vertex_colors)
    np.testing.assert_allclose(back.vertex_normals, mesh.vertex_normals, rtol=1e-7)
    assert not list(tmp_path.glob("*.tmp"))  # atomic write left nothing behind


def test_write_ply_points_with_rgba_and_float_colors(tmp_path: Path) -> None:
    pts = np.random.default_rng(0).random((50, 4))  # extra column ignored
    rgba = np.random.default_rng(1).integers(0, 256, (50, 4)).astype(np.uint8)
    write_ply(tmp_path / "a.ply", pts, colors=rgba)
    back = read_mesh(tmp_path / "a.ply")
    assert back.faces is None
    np.testing.assert_allclose(back.vertices, pts[:, :3].astype(np.float32))
    np.testing.assert_array_equal(back.vertex_colors, rgba)
    write_ply(tmp_path / "b.ply", pts[:, :3], colors=np.full((50, 3), 0.5), binary=False)
    assert np.all(read_mesh(tmp_path / "b.ply").vertex_colors == 128)
    with pytest.raises(ValueError):
        write_ply(tmp_path / "c.ply", pts[:, :3], colors=np.zeros((3, 3), np.uint8))


def test_binary_big_endian_with_mixed_polygons_and_odd_types(tmp_path: Path) -> None:
    # Vertices: short x, int y, double z, ushort red..blue, char flag. Faces: a triangle and a
    # quad (ragged lists, uint count, ushort indices) followed by a per-face uchar.
    lines = [
        "ply", "format binary_big_endian 1.0", "comment hand-made", "element vertex 5",
        "property int16 x", "property int y", "property double z",
        "property ushort red", "property ushort green", "property ushort blue", "property char flag",
        "element face 2", "property list uint ushort vertex_index", "property uchar kind",
        "end_header",
    ]
    header = "".join(line + "\n" for line in lines)
    body = b""
    verts = [(0, 0, 0.5), (1, 0, 0.5), (1, 1, 0.5), (0, 1, 0.5), (5, 5, -1.25)]
    for i, (x, y, z) in enumerate(verts):
        body += struct.pack(">hidHHHb", x, y, z, 65535, 0, 257 * i, -1)
    body += struct.pack(">IHHHB", 3, 0, 1, 4, 7)
    body += struct.pack(">IHHHHB", 4, 0, 1, 2, 3, 9)
    path = tmp_path / "be.ply"
    path.write_bytes(header.encode() + body)
    mesh = read_mesh(path)
    assert mesh.vertices.dtype == np.float64
    np.testing.assert_array_equal(mesh.vertices, np.array(verts, dtype=np.float64))
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 4], [0, 1, 2], [0, 2, 3]])
    np.testing.assert_array_equal(mesh.vertex_colors[:, 0], 255)
    np.testing.assert_array_equal(mesh.vertex_colors[:, 2], np.arange(5))  # 257·i / 65535 · 255 = i


def test_binary_uniform_fast_path_with_extra_face_property(tmp_path: Path) -> None:
    header = (
        "ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\n"
        "property float y\nproperty float z\nelement face 2\nproperty uchar flags\n"
        "property list uint8 int32 vertex_indices\nproperty float quality\nend_header\r\n"
    )
    body = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], dtype="<f4").tobytes()
    body += struct.pack("<BBiiif", 1, 3, 0, 1, 2, 0.5) + struct.pack("<BBiiif", 1, 3, 2, 1, 3, 0.5)
    path = tmp_path / "crlf.ply"
    path.write_bytes(header.encode() + body)
    mesh = read_mesh(path)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [2, 1, 3]])


def test_ascii_ply_polygons_float_colors_and_comments(tmp_path: Path) -> None:
    text = """ply
format ascii 1.0
comment made by hand
element vertex 5
property float x
property float y
property float z
property float red
property float green
property float blue
element face 2
property list uchar int vertex_indices
end_header
0 0 0 1 0 0
1 0 0 0 1 0
1 1 0 0 0 1
0 1 0 0.5 0.5 0.5
0.5 0.5 1 1 1 1
4 0 1 2 3
3 0 1 4
"""
    path = tmp_path / "a.ply"
    path.write_text(text)
    mesh = read_mesh(path)
    assert mesh.n_vertices == 5
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [0, 1, 4]])
    np.testing.assert_array_equal(mesh.vertex_colors[:4], [[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]])


def test_point_cloud_ply_without_faces(tmp_path: Path) -> None:
    path = tmp_path / "pc.ply"
    header = "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty double x\nproperty double y\nproperty double z\nend_header\n"
    path.write_bytes(header.encode() + np.arange(9, dtype="<f8").tobytes())
    mesh = read_mesh(path)
    assert mesh.faces is None and not mesh.has_faces
    np.testing.assert_array_equal(mesh.vertices, np.arange(9.0).reshape(3, 3))


XYZ_HEADER = (
    b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\n"
    b"property float z\nend_header\n"
)
FACE_HEADER = (
    b"ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
    b"element face 1\nproperty list uchar int vertex_indices\nend_header\n"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\n", "end_header"),
        (b"hello\n", "not a PLY"),
        (b"ply\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n", "format"),
        (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty flot x\nend_header\n", "unknown property type"),
        (XYZ_HEADER.replace(b"vertex 1", b"vertex 2") + b"0 0 0\n", "ends early"),
        (XYZ_HEADER + b"0 zero 0\n", "not a number"),
        (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n0 0\n",
         "lacks the coordinate"),
        (FACE_HEADER + b"0 0 0\n1 0 0\n0 1 0\n3 0 1 7\n", "refers to vertex 7"),
    ],
)
def test_bad_ply_raises_data_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.ply"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        read_mesh(path)
    assert info.value.path == path


def test_truncated_binary_ply(tmp_path: Path) -> None:
    path = tmp_path / "t.ply"
    write_ply(path, _tetra())
    data = path.read_bytes()
    path.write_bytes(data[:-7])  # cut into the faces
    with pytest.raises(DataError, match="truncated binary data: expected 52 bytes") as info:
        read_mesh(path)
    assert "t.ply" in str(info.value)
    path.write_bytes(data[: data.index(b"end_header") + 11 + 20])  # cut into the vertices
    with pytest.raises(DataError, match="truncated binary data.*'vertex'"):
        read_mesh(path)


def test_truncated_ragged_binary_ply(tmp_path: Path) -> None:
    header = (
        "ply\nformat binary_little_endian 1.0\nelement vertex 4\nproperty float x\nproperty float y\n"
        "property float z\nelement face 2\nproperty list uchar int vertex_indices\nend_header\n"
    )
    body = np.zeros((4, 3), "<f4").tobytes() + struct.pack("<Biii", 3, 0, 1, 2) + struct.pack("<Bii", 4, 0, 1)
    path = tmp_path / "r.ply"
    path.write_bytes(header.encode() + body)
    with pytest.raises(DataError, match="truncated binary data"):
        read_mesh(path)


def test_real_occgen_point_cloud(shared_data: Path) -> None:
    path = shared_data / "occgen" / "trajectory_1" / "data" / "chunk-000" / "path.ply"
    if not path.is_file():
        pytest.skip("occgen path.ply not in the shared data")
    mesh = read_mesh(path)
    assert mesh.n_vertices == 72445 and mesh.faces is None
    assert mesh.vertices.dtype == np.float64
    assert mesh.vertex_colors.shape == (72445, 3) and mesh.vertex_colors.dtype == np.uint8
    assert np.all(np.isfinite(mesh.vertices))


# --------------------------------------------------------------------------- OBJ


def test_obj_quads_negative_indices_colors_normals(tmp_path: Path) -> None:
    text = """# a unit square as a quad, then a triangle with negative (relative) indices
o square
v 0 0 0 1 0 0
v 1 0 0 0 1 0
v 1 1 0 0 0 1
v 0 1 0 1 1 1
vn 0 0 1
vt 0 0
f 1/1/1 2/1/1 3/1/1 4/1/1
v 0 0 2 0.5 0.5 0.5
f -5//1 -4//1 -1//1
f 2 3 5
"""
    path = tmp_path / "m.obj"
    path.write_text(text)
    mesh = read_mesh(path)
    assert mesh.n_vertices == 5
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [0, 1, 4], [1, 2, 4]])
    np.testing.assert_array_equal(mesh.vertex_colors[0], [255, 0, 0])
    np.testing.assert_array_equal(mesh.vertex_colors[4], [128, 128, 128])
    np.testing.assert_allclose(mesh.vertex_normals[:2], [[0, 0, 1], [0, 0, 1]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v 0 0 0\nv 1 0 0\nf 1 2 3\n", "does not exist"),
        ("v 0 0 0\nv 1 0 x\n", "line 2"),
        ("v 0 0 0\nf 1 a 1\n", "cannot read face"),
        ("# nothing\n", "no vertices"),
        ("v 0 0 0\nv 1 1 1\nv 2 2 2\nf 0 1 2\n", "cannot read face"),
    ],
)
def test_bad_obj(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.obj"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_mesh(path)


# --------------------------------------------------------------------------- glTF


def test_glb_node_translation(tmp_path: Path) -> None:
    gltf, binary = _triangle_gltf([{"mesh": 0, "translation": [1, 2, 3]}], [0])
    path = tmp_path / "t.glb"
    path.write_bytes(make_glb(gltf, binary))
    mesh = read_mesh(path)
    np.testing.assert_allclose(mesh.vertices, [[1, 2, 3], [2, 2, 3], [1, 3, 3]])
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2]])
    np.testing.assert_array_equal(mesh.vertex_colors, [[255, 0, 0, 255], [0, 255, 0, 255], [0, 0, 255, 128]])
    assert mesh.vertex_normals is None


def test_glb_hierarchy_matrix_and_trs(tmp_path: Path) -> None:
    # Node 0: parent translated by (10, 0, 0) with a child rotated 90° about z (quaternion).
    # Node 2: the same mesh again, placed by a column-major matrix (scale 2, translate z=5).
    s = np.sqrt(0.5)
    matrix = np.diag([2.0, 2.0, 2.0, 1.0])
    matrix[:3, 3] = [0, 0, 5]
    nodes = [
        {"translation": [10, 0, 0], "children": [1]},
        {"mesh": 0, "rotation": [0, 0, s, s]},
        {"mesh": 0, "matrix": matrix.T.reshape(-1).tolist()},
        {"mesh": 0, "translation": [99, 99, 99]},  # not in the scene: ignored
    ]
    gltf, binary = _triangle_gltf(nodes, [0, 2])
    path = tmp_path / "h.glb"
    path.write_bytes(make_glb(gltf, binary))
    mesh = read_mesh(path)
    expected = [[10, 0, 0], [10, 1, 0], [9, 0, 0], [0, 0, 5], [2, 0, 5], [0, 2, 5]]
    np.testing.assert_allclose(mesh.vertices, expected, atol=1e-12)
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [3, 4, 5]])


def test_gltf_with_data_uri_float_colors_normals_and_no_indices(tmp_path: Path) -> None:
    pos = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], dtype=np.float32)
    nrm = np.array([[0, 0, 1]] * 3, dtype=np.float32)
    col = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 0.5]], dtype=np.float32)
    binary = pos.tobytes() + nrm.tobytes() + col.tobytes()
    gltf = {
        "asset": {"version": "2.0"},
        "nodes": [{"mesh": 0, "scale": [1, 1, -1]}],  # mirrored: winding flips
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1, "COLOR_0": 2}}]}],
        "buffers": [{"byteLength": len(binary),
                     "uri": "data:application/octet-stream;base64," + base64.b64encode(binary).decode()}],
        "bufferViews": [{"buffer": 0, "byteOffset": 36 * k, "byteLength": 36} for k in range(3)],
        "accessors": [{"bufferView": k, "componentType": 5126, "count": 3, "type": "VEC3"} for k in range(3)],
    }
    path = tmp_path / "e.gltf"
    path.write_text(json.dumps(gltf))
    mesh = read_mesh(path)
    np.testing.assert_allclose(mesh.vertices, pos)
    np.testing.assert_array_equal(mesh.faces, [[0, 2, 1]])
    np.testing.assert_allclose(mesh.vertex_normals, [[0, 0, -1]] * 3)
    np.testing.assert_array_equal(mesh.vertex_colors, [[255, 0, 0], [0, 255, 0], [0, 0, 128]])


def test_glb_interleaved_buffer_view(tmp_path: Path) -> None:
    # POSITION and NORMAL interleaved in one bufferView with byteStride 24.
    inter = np.zeros((3, 6), dtype=np.float32)
    inter[:, :3] = [[0, 0, 0], [2, 0, 0], [0, 2, 0]]
    inter[:, 3:] = [0, 0, 1]
    binary = inter.tobytes()
    gltf = {
        "asset": {"version": "2.0"},
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 1}}]}],
        "buffers": [{"byteLength": len(binary)}],
        "bufferViews": [{"buffer": 0, "byteLength": len(binary), "byteStride": 24}],
        "accessors": [
            {"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
            {"bufferView": 0, "byteOffset": 12, "componentType": 5126, "count": 3, "type": "VEC3"},
        ],
    }
    path = tmp_path / "i.glb"
    path.write_bytes(make_glb(gltf, binary))
    mesh = read_mesh(path)
    np.testing.assert_allclose(mesh.vertices, inter[:, :3])
    np.testing.assert_allclose(mesh.vertex_normals, inter[:, 3:])


def test_bad_glb(tmp_path: Path) -> None:
    gltf, binary = _triangle_gltf([{"mesh": 0}], [0])
    data = make_glb(gltf, binary)
    path = tmp_path / "bad.glb"
    path.write_bytes(data[:-10])
    with pytest.raises(DataError, match="truncated GLB"):
        read_mesh(path)
    path.write_bytes(b"GLTF" + data[4:])
    with pytest.raises(DataError, match="bad magic"):
        read_mesh(path)
    gltf["accessors"][0]["count"] = 30  # reads past its bufferView
    path.write_bytes(make_glb(gltf, binary))
    with pytest.raises(DataError, match="beyond bufferView"):
        read_mesh(path)


# --------------------------------------------------------------------------- dispatch


def test_npy_missing_and_unknown(tmp_path: Path) -> None:
    np.save(tmp_path / "p.npy", np.arange(12, dtype=np.float32).reshape(3, 4))
    mesh = read_mesh(tmp_path / "p.npy")
    np.testing.assert_array_equal(mesh.vertices, [[0, 1, 2], [4, 5, 6], [8, 9, 10]])
    np.save(tmp_path / "q.npy", np.zeros(5))
    with pytest.raises(DataError, match="N×3"):
        read_mesh(tmp_path / "q.npy")
    with pytest.raises(MissingFileError):
        read_mesh(tmp_path / "nope.ply")
    (tmp_path / "x.stl").write_bytes(b"solid")
    with pytest.raises(UnknownFormatError):
        read_mesh(tmp_path / "x.stl")
