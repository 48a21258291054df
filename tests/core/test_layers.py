"""Layers: the model and every export round-tripping through occstudio's loaders."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from occstudio.builtins.compute_layers import (
    OCC3D_FREE_LABEL,
    OCC3D_OCCUPIED_LABEL,
    export_layer,
    fused_cloud_layer,
    occupancy_layer,
    rendered_depth_layer,
    visibility_layer,
)
from occstudio.core.errors import DataError
from occstudio.core.geometry import GridSpec
from occstudio.core.layers import Layer, LayerList
from occstudio.io.meshes import read_mesh
from occstudio.io.occ3d import read_labels_npz
from occstudio.io.occgen import read_mask_sequence, read_occ_sequence


def _points_layer(n: int = 50, colors: bool = True) -> Layer:
    rng = np.random.default_rng(0)
    data = {"points": rng.uniform(-1, 1, (n, 3)).astype(np.float32)}
    if colors:
        data["colors"] = rng.integers(0, 256, (n, 3), dtype=np.uint8)
    return Layer("fused cloud", "points", data, writer=export_layer)


def test_layer_checks_kind_and_data():
    with pytest.raises(ValueError, match="kind"):
        Layer("x", "cloud", {"points": np.zeros((1, 3))})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="occupied"):
        Layer("x", "voxels", {"points": np.zeros((1, 3))})


def test_export_needs_a_writer_and_a_suffix_of_its_kind(tmp_path):
    layer = Layer("p", "points", {"points": np.zeros((2, 3), np.float32)})
    with pytest.raises(DataError, match="no writer"):
        layer.export(tmp_path / "p.ply")
    layer.writer = export_layer
    with pytest.raises(DataError, match=r"\.ply"):
        layer.export(tmp_path / "p.png")


def test_layer_list_replaces_by_name():
    layers = LayerList()
    a, b = _points_layer(), _points_layer(3)
    assert layers.add(a) is None
    assert layers.add(b) is a
    assert layers.names() == ["fused cloud"] and layers.get("fused cloud") is b and len(layers) == 1
    assert layers.remove("fused cloud") is b and "fused cloud" not in layers


def test_points_export_round_trips_through_read_mesh(tmp_path):
    layer = _points_layer()
    out = layer.export(tmp_path / "cloud.ply")
    mesh = read_mesh(out)
    np.testing.assert_allclose(mesh.vertices, layer.data["points"], atol=1e-6)
    np.testing.assert_array_equal(mesh.vertex_colors[:, :3], layer.data["colors"])
    assert mesh.faces is None or len(mesh.faces) == 0


def test_mesh_export_round_trips(tmp_path):
    verts = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], np.float32)
    faces = np.array([[0, 1, 2], [0, 1, 3]])
    layer = Layer("mesh", "mesh", {"vertices": verts, "faces": faces}, writer=export_layer)
    mesh = read_mesh(layer.export(tmp_path / "m.ply"))
    np.testing.assert_allclose(mesh.vertices, verts)
    np.testing.assert_array_equal(mesh.faces, faces)


def test_occ3d_sized_voxels_round_trip_through_read_labels_npz(tmp_path):
    grid = GridSpec.occ3d()
    occupied = np.zeros(grid.shape, bool)
    occupied[10:20, 5, 3] = True
    visible = np.zeros(grid.shape, bool)
    visible[:50] = True
    layer = Layer("occupancy (computed)", "voxels", {"occupied": occupied, "visible": visible},
                  {"grid": grid}, writer=export_layer)
    labels = read_labels_npz(layer.export(tmp_path / "labels.npz"))
    assert labels["semantics"].shape == (200, 200, 16)
    np.testing.assert_array_equal(labels["semantics"] == OCC3D_OCCUPIED_LABEL, occupied)
    assert set(np.unique(labels["semantics"])) == {OCC3D_OCCUPIED_LABEL, OCC3D_FREE_LABEL}
    np.testing.assert_array_equal(labels["mask_camera"], visible.astype(np.uint8))
    assert labels["mask_lidar"].all()


def test_other_voxel_grids_export_as_plain_npz_and_occgen_sequences(tmp_path):
    grid = GridSpec((0, 0, 0), 0.5, (4, 3, 5))
    occupied = np.zeros(grid.shape, bool)
    occupied[1, 2, 3] = occupied[3, 0, 0] = True
    layer = Layer("occ", "voxels", {"occupied": occupied}, {"grid": grid}, writer=export_layer)
    with np.load(layer.export(tmp_path / "grid.npz")) as data:
        assert set(data.files) == {"semantics", "mask_lidar", "mask_camera"}
        np.testing.assert_array_equal(data["semantics"] == OCC3D_OCCUPIED_LABEL, occupied)
        assert data["semantics"].dtype == np.uint8 and data["mask_camera"].all()
    seq, shape = read_occ_sequence(layer.export(tmp_path / "occ_sequence.npz"))
    assert seq.n_frames == 1 and seq.n_voxels == occupied.size
    np.testing.assert_array_equal(np.sort(seq.frame(0)), np.flatnonzero(occupied))
    masks = read_mask_sequence(layer.export(tmp_path / "mask_sequence.npz"))
    np.testing.assert_array_equal(masks.frame(0), occupied)
    centres = read_mesh(layer.export(tmp_path / "voxels.ply")).vertices
    np.testing.assert_allclose(np.sort(centres, axis=0), np.sort(grid.flat_to_center(np.flatnonzero(occupied)), axis=0))


def test_depth_image_export_png_and_npy(tmp_path):
    depth = np.array([[0.0, 1.5], [2.25, 10.0]], np.float32)
    layer = Layer("rendered depth", "image", {"depth": depth}, writer=export_layer)
    png = np.array(Image.open(layer.export(tmp_path / "d.png")))
    assert png.dtype == np.uint16
    np.testing.assert_allclose(png / 256.0, depth)
    np.testing.assert_array_equal(np.load(layer.export(tmp_path / "d.npy")), depth)
    too_far = Layer("far", "image", {"depth": np.full((1, 1), 300.0, np.float32)}, writer=export_layer)
    with pytest.raises(DataError, match="npy"):
        too_far.export(tmp_path / "far.png")


def write_condition(path, n: int = 3, size: tuple[int, int] = (24, 16)):
    """A tiny Pi3-style condition.npz: cameras 0.2 m apart looking at a wall 2 m away (+z)."""
    w, h = size
    K = np.array([[20.0, 0, w / 2], [0, 20.0, h / 2], [0, 0, 1]])
    poses = np.repeat(np.eye(4)[None], n, axis=0)
    poses[:, 0, 3] = np.arange(n) * 0.2
    depths = np.full((n, h, w), 2.0, np.float32)
    depths[:, :2] = 0.0  # invalid rows
    np.savez(path, intrinsics=K, poses=poses, depths=depths)
    return path


def test_layer_computations_on_a_synthetic_condition_file(tmp_path):
    cond = write_condition(tmp_path / "condition.npz")
    cloud = fused_cloud_layer(None, None, source=str(cond), voxel_size=0.0, stride=1)
    pts = cloud.data["points"]
    assert cloud.kind == "points" and len(pts) == 3 * 14 * 24
    np.testing.assert_allclose(pts[:, 2], 2.0, atol=1e-6)  # the wall
    occ = occupancy_layer(None, None, cloud=cloud, voxel_size=0.1)
    grid = occ.metadata["grid"]
    assert occ.data["occupied"].any() and np.all(grid.flat_to_center(np.flatnonzero(occ.data["occupied"]))[:, 2] > 2.0)
    vis = visibility_layer(None, None, occupancy=occ, source=str(cond), frame=0, stride=1)
    assert vis.data["occupied"].any() and not (vis.data["occupied"] & ~occ.data["occupied"]).any()
    depth = rendered_depth_layer(None, None, occupancy=occ, source=str(cond), frame=0, stride=1)
    d = depth.data["depth"]
    assert d.shape == (16, 24)
    hit = d > 0
    assert hit.mean() > 0.5
    np.testing.assert_allclose(d[hit], 2.0, atol=1e-5)  # the wall's voxels start at z = 2.0
    with pytest.raises(DataError, match="frame 9"):
        visibility_layer(None, None, occupancy=occ, source=str(cond), frame=9)
    with pytest.raises(DataError, match="condition.npz"):
        fused_cloud_layer(None, None)
