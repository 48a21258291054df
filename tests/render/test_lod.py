"""Level of detail for big point clouds: the subset, the two actors, the switch on interaction."""

from __future__ import annotations

import numpy as np
import pytest
import pyvista as pv

from occstudio.render.lod import PointCloudLOD, decimate_indices

pv.global_theme.multi_samples = 0


def make_cloud(n: int = 3000, seed: int = 0) -> pv.PolyData:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-5, 5, size=(n, 3)).astype(np.float32)
    cloud = pv.PolyData(points)
    cloud.point_data["height"] = points[:, 2]
    cloud.point_data["rgb"] = rng.integers(0, 256, size=(n, 3), dtype=np.uint8)
    return cloud


@pytest.fixture
def plotter():
    p = pv.Plotter(off_screen=True, window_size=(160, 120))
    yield p
    p.close()


def interactor_of(plotter: pv.Plotter):
    """The plotter's VTK interactor (one made on its render window if it has none)."""
    if plotter.iren is not None and plotter.iren.interactor is not None:
        return plotter.iren.interactor
    from vtkmodules.vtkRenderingCore import vtkRenderWindowInteractor

    iren = vtkRenderWindowInteractor()
    iren.SetRenderWindow(plotter.ren_win)
    return iren


def visible(actor) -> bool:
    return bool(actor.GetVisibility())


# ------------------------------------------------------------------ decimate_indices


@pytest.mark.parametrize("n, k", [(10, 3), (1000, 999), (100_000, 1000), (5, 5), (5, 10), (0, 4), (7, 0)])
def test_decimate_indices_sorted_unique_in_range(n, k):
    idx = decimate_indices(n, k)
    assert idx.dtype == np.int64 and len(idx) == min(n, k)
    assert np.all(np.diff(idx) > 0)
    if len(idx):
        assert idx[0] >= 0 and idx[-1] < n
    if n <= k:
        np.testing.assert_array_equal(idx, np.arange(n))


def test_decimate_indices_deterministic_per_seed():
    a, b = decimate_indices(50_000, 2000, seed=3), decimate_indices(50_000, 2000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, decimate_indices(50_000, 2000, seed=4))
    # spread over the whole range, not a prefix
    assert a[0] < 5000 and a[-1] > 45_000


def test_decimate_indices_rejects_negative():
    with pytest.raises(ValueError):
        decimate_indices(-1, 5)
    with pytest.raises(ValueError):
        decimate_indices(5, -1)


# ----------------------------------------------------------------------- actors


def test_attach_big_cloud_adds_two_actors(plotter):
    lod = PointCloudLOD(make_cloud(3000), max_moving_points=500)
    assert (lod.n_full, lod.n_moving) == (3000, 500)
    lod.attach(plotter, "cloud", scalars="height", point_size=2)
    assert set(plotter.renderer.actors) >= {"cloud", "cloud:lod"}
    assert visible(lod.full_actor) and not visible(lod.lod_actor)
    assert not lod.is_moving


def test_attach_small_cloud_adds_one_actor(plotter):
    lod = PointCloudLOD(make_cloud(300), max_moving_points=500)
    assert lod.n_moving == lod.n_full == 300 and lod.decimated is None
    lod.attach(plotter, "cloud")
    assert "cloud" in plotter.renderer.actors and "cloud:lod" not in plotter.renderer.actors
    assert lod.lod_actor is None
    assert lod.set_moving(True) is False  # nothing to switch
    assert lod.is_moving and visible(lod.full_actor)


def test_set_moving_toggles_visibility(plotter):
    lod = PointCloudLOD(make_cloud(3000), max_moving_points=500)
    lod.attach(plotter, "cloud", scalars="rgb", rgb=True)
    assert lod.set_moving(True) is True
    assert lod.is_moving and visible(lod.lod_actor) and not visible(lod.full_actor)
    assert lod.set_moving(True) is False  # already moving
    assert lod.set_moving(False) is True
    assert not lod.is_moving and visible(lod.full_actor) and not visible(lod.lod_actor)
    lod.visible = False  # hide the whole cloud: neither actor comes back on a switch
    lod.set_moving(True)
    assert not visible(lod.full_actor) and not visible(lod.lod_actor)
    lod.visible = True
    assert visible(lod.lod_actor) and not visible(lod.full_actor)


def test_decimated_actor_keeps_arrays_and_colours(plotter):
    cloud = make_cloud(3000)
    lod = PointCloudLOD(cloud, max_moving_points=500)
    sub = lod.decimated
    assert set(sub.point_data.keys()) == {"height", "rgb"}
    idx = decimate_indices(3000, 500)
    np.testing.assert_array_equal(sub.points, cloud.points[idx])
    np.testing.assert_array_equal(sub.point_data["height"], cloud.point_data["height"][idx])
    np.testing.assert_array_equal(sub.point_data["rgb"], cloud.point_data["rgb"][idx])
    assert sub.n_verts == 500  # drawable as points
    lod.attach(plotter, "cloud", scalars="height", cmap="viridis")
    full, dec = lod.full_actor.GetMapper(), lod.lod_actor.GetMapper()
    assert lod.lod_actor.mapper.dataset is sub and "height" in sub.point_data
    assert dec.GetScalarRange() == pytest.approx(full.GetScalarRange())  # same colours
    assert dec.GetLookupTable() is full.GetLookupTable()


def test_attach_to_a_given_renderer():
    p = pv.Plotter(off_screen=True, window_size=(160, 120), shape=(1, 2))
    try:
        p.subplot(0, 0)
        lod = PointCloudLOD(make_cloud(1000), max_moving_points=100)
        lod.attach(p, "right", renderer=p.renderers[1])
        assert {"right", "right:lod"} <= set(p.renderers[1].actors)
        assert "right" not in p.renderers[0].actors
        assert p.renderers.active_index == 0  # the active subplot is restored
        lod.detach()
        assert not {"right", "right:lod"} & set(p.renderers[1].actors)
        with pytest.raises(ValueError):
            lod.attach(p, "x", renderer=pv.Renderer(p))
    finally:
        p.close()


def test_detach_removes_actors_and_attach_twice_fails(plotter):
    lod = PointCloudLOD(make_cloud(3000), max_moving_points=500)
    lod.attach(plotter, "cloud")
    with pytest.raises(RuntimeError):
        lod.attach(plotter, "again")
    lod.detach()
    assert not {"cloud", "cloud:lod"} & set(plotter.renderer.actors)
    assert not lod.attached and lod.full_actor is None and lod.lod_actor is None
    lod.attach(plotter, "cloud")  # can be attached again
    assert "cloud:lod" in plotter.renderer.actors


# ------------------------------------------------------------------- interaction


@pytest.mark.parametrize("rendered_before", [False, True])
def test_watch_switches_on_interaction_events(plotter, rendered_before):
    lod = PointCloudLOD(make_cloud(3000), max_moving_points=500)
    lod.attach(plotter, "cloud", point_size=2)
    if rendered_before:
        plotter.show(auto_close=False)  # the first real render also enables the interactor
    iren = interactor_of(plotter)
    renders = []
    plotter.ren_win.AddObserver("EndEvent", lambda *_: renders.append(1))
    lod.watch(iren)
    iren.InvokeEvent("StartInteractionEvent")
    assert lod.is_moving and visible(lod.lod_actor) and not visible(lod.full_actor)
    assert not renders  # switching to the subset does not render by itself
    iren.InvokeEvent("EndInteractionEvent")
    assert not lod.is_moving and visible(lod.full_actor) and not visible(lod.lod_actor)
    assert len(renders) == 1  # the still frame was drawn
    lod.detach()
    assert lod._observers == []
    iren.InvokeEvent("StartInteractionEvent")  # observers are gone
    assert not lod.is_moving


def drag(iren, renders: list, start=(80, 60), end=(100, 60)) -> None:
    """Press, move and release the left button; ``renders`` is emptied before the release."""
    iren.SetEventInformation(*start)
    iren.InvokeEvent("LeftButtonPressEvent")
    iren.SetEventInformation(*end)
    iren.InvokeEvent("MouseMoveEvent")
    renders.clear()
    iren.InvokeEvent("LeftButtonReleaseEvent")


def test_mouse_drag_through_the_interactor_style_switches_and_renders_once(plotter):
    """A real drag: the style's interaction events reach the interactor's observers, and
    the still frame after the release is drawn once (by the style), not twice."""
    lod = PointCloudLOD(make_cloud(3000), max_moving_points=500)
    lod.attach(plotter, "cloud")
    plotter.show(auto_close=False)  # as a shown view: the interactor is enabled
    iren = interactor_of(plotter)
    assert iren.GetEnabled()
    lod.watch(iren)
    seen, renders = [], []
    iren.AddObserver("InteractionEvent", lambda *_: seen.append(lod.is_moving))
    plotter.ren_win.AddObserver("EndEvent", lambda *_: renders.append(lod.is_moving))
    drag(iren, renders)
    assert seen == [True] and not lod.is_moving
    assert visible(lod.full_actor) and not visible(lod.lod_actor)
    assert renders == [False]  # one render after the release, of the full cloud
    # a new interactor style is picked up on the next interaction
    plotter.enable_terrain_style()
    drag(iren, renders)
    assert not lod.is_moving and renders == [False] and lod._style is iren.GetInteractorStyle()


def test_render_on_end_false_does_not_render(plotter):
    lod = PointCloudLOD(make_cloud(3000), max_moving_points=500)
    lod.attach(plotter, "cloud")
    iren = interactor_of(plotter)
    renders = []
    plotter.ren_win.AddObserver("EndEvent", lambda *_: renders.append(1))
    lod.watch(iren, render_on_end=False)
    iren.InvokeEvent("StartInteractionEvent")
    iren.InvokeEvent("EndInteractionEvent")
    assert not lod.is_moving and not renders


def test_rejects_bad_threshold():
    with pytest.raises(ValueError):
        PointCloudLOD(make_cloud(10), max_moving_points=0)
