"""Exposed-face voxel surfaces: counts, orientation, agreement with VTK, class hiding."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from occstudio.core.geometry import GridSpec
from occstudio.core.labels import OCC3D
from occstudio.io.occ3d import read_labels_npz
from occstudio.io.occgen import occ_frame_indices, read_occ_sequence
from occstudio.render import voxels
from occstudio.render.voxels import (
    apply_class_visibility,
    class_visibility_mask,
    exposed_faces,
    sparse_voxel_surface,
    voxel_surface,
)

REAL_GT = "occ3d/29796060110c4163b07f06eff4af0753/labels.npz"


def grid_for(labels: np.ndarray, size: float = 1.0, origin=(0.0, 0.0, 0.0)) -> GridSpec:
    return GridSpec(origin, size, labels.shape)


def empty(shape=(3, 3, 3)) -> np.ndarray:
    return np.full(shape, 17, dtype=np.uint8)


def quad_normals(quads: np.ndarray) -> np.ndarray:
    q = quads.astype(float)
    return np.cross(q[:, 1] - q[:, 0], q[:, 3] - q[:, 0])


def test_single_voxel_has_six_outward_quads():
    labels = empty()
    labels[1, 1, 1] = 4
    quads, qlab, qvox = exposed_faces(labels, grid_for(labels, 0.5, (10, 20, 30)))
    assert quads.shape == (6, 4, 3) and quads.dtype == np.float32
    assert np.all(qlab == 4)
    assert np.all(qvox == np.ravel_multi_index((1, 1, 1), labels.shape))
    centre = np.array([10, 20, 30]) + 1.5 * 0.5
    normals = quad_normals(quads)
    outward = quads.mean(axis=1) - centre
    assert np.all(np.einsum("ij,ij->i", normals, outward) > 0)  # counter-clockwise from outside
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 0.25)  # face area 0.5²
    np.testing.assert_allclose(np.abs(outward).max(axis=1), 0.25)  # faces half a voxel away


def test_two_adjacent_voxels():
    labels = empty()
    labels[0, 1, 1] = labels[1, 1, 1] = 4
    assert len(exposed_faces(labels, grid_for(labels))[0]) == 10
    labels[1, 1, 1] = 7  # different classes share a face
    assert len(exposed_faces(labels, grid_for(labels))[0]) == 10
    quads, qlab, _ = exposed_faces(labels, grid_for(labels), class_boundaries=True)
    assert len(quads) == 12 and np.bincount(qlab).tolist()[4::3] == [6, 6]


def test_border_voxels_and_visibility_mask():
    labels = np.full((2, 1, 1), 11, dtype=np.uint8)  # fills the grid: border faces count
    assert len(exposed_faces(labels, grid_for(labels))[0]) == 10
    visible = np.array([True, False]).reshape(2, 1, 1)
    quads, _, qvox = exposed_faces(labels, grid_for(labels), visible=visible)
    assert len(quads) == 6 and np.all(qvox == 0)
    assert len(exposed_faces(empty(), grid_for(empty()))[0]) == 0
    with pytest.raises(ValueError):
        exposed_faces(labels, GridSpec((0, 0, 0), 1.0, (3, 3, 3)))


def vtk_surface(labels: np.ndarray, grid: GridSpec, keep: np.ndarray) -> pv.PolyData:
    """pyvista's route: threshold the kept cells of an ImageData, extract the surface."""
    image = pv.ImageData(
        dimensions=np.array(labels.shape) + 1, spacing=grid.voxel_size, origin=grid.origin
    )
    image.cell_data["keep"] = keep.ravel(order="F").astype(np.uint8)
    solid = image.threshold(value=(1, 1), scalars="keep")
    try:
        return solid.extract_surface(algorithm="dataset_surface")
    except TypeError:  # pyvista before the `algorithm` keyword
        return solid.extract_surface()


def sorted_rows(points: np.ndarray) -> np.ndarray:
    rounded = np.round(points.astype(float), 4)
    return rounded[np.lexsort(rounded.T[::-1])]


@pytest.fixture
def real_crop(shared_data):
    gt = read_labels_npz(shared_data / REAL_GT)
    sl = (slice(80, 120), slice(80, 120), slice(None))
    grid = GridSpec((-40 + 80 * 0.4, -40 + 80 * 0.4, -1.0), 0.4, (40, 40, 16))
    return gt["semantics"][sl], gt["mask_camera"][sl].astype(bool), grid


def test_real_crop_matches_vtk_surface(real_crop):
    labels, camera, grid = real_crop
    occupied = labels != 17
    quads, qlab, _ = exposed_faces(labels, grid)
    surf = vtk_surface(labels, grid, occupied)
    assert len(quads) == surf.n_cells > 1000
    np.testing.assert_allclose(
        sorted_rows(quads.mean(axis=1)), sorted_rows(surf.cell_centers().points), atol=1e-4
    )
    # with the camera mask
    quads_cam, _, _ = exposed_faces(labels, grid, visible=camera)
    assert len(quads_cam) == vtk_surface(labels, grid, occupied & camera).n_cells


def test_class_boundaries_equal_per_class_surfaces(real_crop):
    labels, _, grid = real_crop
    _, qlab, _ = exposed_faces(labels, grid, class_boundaries=True)
    for cls in np.unique(labels[labels != 17]):
        assert np.sum(qlab == cls) == vtk_surface(labels, grid, labels == cls).n_cells


def test_voxel_surface_arrays(real_crop):
    labels, _, grid = real_crop
    poly = voxel_surface(labels, grid, OCC3D, class_boundaries=False)
    quads, qlab, qvox = exposed_faces(labels, grid)
    assert poly.n_cells == len(quads)
    assert np.array_equal(poly.cell_data["label"], qlab)
    assert np.array_equal(poly.cell_data["voxel_id"], qvox)
    assert np.array_equal(labels.reshape(-1)[poly.cell_data["voxel_id"]], poly.cell_data["label"])
    assert np.array_equal(poly.cell_data["rgba"], OCC3D.lut()[qlab])
    assert poly.n_points < 4 * poly.n_cells  # corners are shared
    np.testing.assert_allclose(poly.points[poly.regular_faces], quads, atol=1e-5)


def test_single_voxel_mesh_shares_corners():
    labels = empty()
    labels[0, 0, 0] = 4
    poly = voxel_surface(labels, grid_for(labels), OCC3D)
    assert (poly.n_cells, poly.n_points) == (6, 8)
    assert np.all(poly.cell_data["rgba"] == (0, 150, 245, 255))
    none = voxel_surface(empty(), grid_for(empty()), OCC3D)
    assert none.n_cells == 0 and len(none.cell_data["label"]) == 0
    assert len(apply_class_visibility(none, [4])) == 0


def test_visibility_is_applied_in_place():
    labels = empty((3, 1, 1))
    labels[0], labels[1] = 4, 7
    poly = voxel_surface(labels, grid_for(labels), OCC3D)
    faces_before = poly.regular_faces.copy()
    vis = apply_class_visibility(poly, [4])
    assert np.array_equal(vis, class_visibility_mask(poly, [4]))
    assert np.array_equal(vis, poly.cell_data["label"] != 4)
    faces = poly.regular_faces
    hidden = faces[~vis]
    assert np.all(hidden == hidden[:, :1])  # collapsed to a point: zero area
    assert np.array_equal(faces[vis], faces_before[vis])
    apply_class_visibility(poly, [])
    assert np.array_equal(poly.regular_faces, faces_before)
    apply_class_visibility(poly, [7], mode="alpha")
    assert np.array_equal(poly.regular_faces, faces_before)
    assert np.all(poly.cell_data["rgba"][poly.cell_data["label"] == 7, 3] == 0)
    assert np.all(poly.cell_data["rgba"][poly.cell_data["label"] == 4, 3] == 255)
    with pytest.raises(ValueError):
        apply_class_visibility(poly, [], mode="ghost")  # type: ignore[arg-type]


def test_hiding_a_class_reveals_its_neighbour_offscreen():
    labels = empty((3, 1, 1))
    labels[0], labels[1] = 4, 7  # car | pedestrian | free, seen from +z
    poly = voxel_surface(labels, grid_for(labels), OCC3D)
    plotter = pv.Plotter(off_screen=True, window_size=(200, 100))
    try:
        plotter.set_background("white")
        plotter.add_mesh(poly, scalars="rgba", rgb=True, lighting=False)
        plotter.camera_position = [(1.5, 0.5, 10.0), (1.5, 0.5, 0.5), (0.0, 1.0, 0.0)]
        plotter.camera.parallel_projection = True
        plotter.camera.parallel_scale = 1.0

        def probe():
            img = plotter.screenshot(return_img=True)
            return tuple(img[50, 60]), tuple(img[50, 100])  # x = 0.7 (car), x = 1.5 (ped)

        car, ped = (0, 150, 245), (255, 0, 0)
        assert probe() == (car, ped)
        apply_class_visibility(poly, [7])
        plotter.render()
        assert probe() == (car, (255, 255, 255))
        apply_class_visibility(poly, [4])
        plotter.render()
        assert probe() == ((255, 255, 255), ped)
    finally:
        plotter.close()


def face_table(poly: pv.PolyData) -> np.ndarray:
    """Rows (face centre xyz, label) sorted, for comparing meshes built differently."""
    centres = poly.points[poly.regular_faces].mean(axis=1)
    table = np.column_stack([np.round(centres, 4), poly.cell_data["label"]])
    return table[np.lexsort(table.T[::-1])]


def test_sparse_surface_equals_dense(real_crop):
    labels, _, grid = real_crop
    flat = np.flatnonzero(labels != 17)
    dense = voxel_surface(labels, grid, OCC3D)
    sparse = sparse_voxel_surface(flat, grid, labels.reshape(-1)[flat], OCC3D, color_by_height=False)
    assert sparse.n_cells == dense.n_cells
    np.testing.assert_allclose(face_table(sparse), face_table(dense), atol=1e-4)
    assert np.array_equal(np.sort(sparse.cell_data["voxel_id"]), np.sort(dense.cell_data["voxel_id"]))
    binary = sparse_voxel_surface(flat[::-1], grid)  # unordered input, one class
    assert binary.n_cells == len(exposed_faces(labels, grid)[0])
    rgba = binary.cell_data["rgba"]
    assert len(np.unique(rgba[:, :3], axis=0)) > 3  # coloured by height
    with pytest.raises(ValueError):
        sparse_voxel_surface(np.array([grid.n_voxels]), grid)


def test_sort_based_dedup_matches_lookup(real_crop, monkeypatch):
    labels, _, grid = real_crop
    fast = voxel_surface(labels, grid, OCC3D)
    monkeypatch.setattr(voxels, "_LUT_LATTICE_MAX", 0)
    slow = voxel_surface(labels, grid, OCC3D)
    assert np.array_equal(fast.points, slow.points)
    assert np.array_equal(fast.regular_faces, slow.regular_faces)


def test_real_occgen_frame_surface(shared_data):
    seq_path = shared_data / "occgen/trajectory_1/videos/chunk-000/observation.occ.view/occ_sequence.npz"
    if not seq_path.is_file():
        pytest.skip("OccGen example not present")
    seq, _ = read_occ_sequence(seq_path)
    flat = occ_frame_indices(seq, 0)
    grid = GridSpec.occgen()
    poly = sparse_voxel_surface(flat, grid)
    assert 0 < poly.n_cells <= 6 * len(flat)
    assert np.all(poly.cell_data["label"] == 1)
    lo, hi = grid.range_min, grid.range_max
    assert np.all(poly.points >= lo - 1e-4) and np.all(poly.points <= hi + 1e-4)
