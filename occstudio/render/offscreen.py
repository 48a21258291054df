"""Off-screen pyvista plotters for captures (screenshots, masks, videos, the demo data).

A plotter made here renders to an off-screen buffer with multi-sampling (MSAA) disabled,
so flat-coloured renders (ID masks, label images) come out with exact colours and
pixel-exact edges. Callers that want smooth edges render at a multiple of the target
size and downsample.

Which OpenGL window VTK uses is decided when the plotter is created: VTK tries X first
and falls back to EGL (or OSMesa) when there is no display, so nothing is set here.
Inside a running Qt process (the GUI, where pyvistaqt already owns an X/GLX context), a
second, off-screen context must not be an X window: callers there must set the
environment variable ``VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow`` before creating
the plotter (and before importing vtk, to be safe). The GUI's video export avoids the
problem altogether by running in a child process.
"""

from __future__ import annotations

import pyvista as pv


def make_offscreen_plotter(
    size: tuple[int, int] = (512, 512),
    *,
    lighting: str | None = "light kit",
    shape: tuple[int, int] = (1, 1),
) -> pv.Plotter:
    """Create an off-screen :class:`pyvista.Plotter` without multi-sampling.

    Parameters
    ----------
    size
        Window size ``(width, height)`` in pixels; both must be positive.
    lighting
        pyvista's ``lighting`` option: ``"light kit"`` (default), ``"three lights"``
        or ``None`` for no lights (add your own, or draw unlit flat colours).
    shape
        ``(rows, columns)`` of sub-renderers (pyvista's ``shape``), drawn without
        borders; each subplot gets its own lights.

    Returns
    -------
    pyvista.Plotter
        A plotter with ``off_screen=True``, MSAA off and no anti-aliasing pass. Close it
        with ``plotter.close()`` when done.

    Raises
    ------
    ValueError
        ``size`` is not two positive integers.
    """
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise ValueError(f"size must be (width, height), got {size!r}") from None
    if width <= 0 or height <= 0:
        raise ValueError(f"size must be positive, got {size!r}")
    theme = pv.themes.Theme()
    theme.load_theme(pv.global_theme)
    theme.multi_samples = 0
    theme.anti_aliasing = None
    extra = {} if tuple(shape) == (1, 1) else {"shape": tuple(shape), "border": False}
    plotter = pv.Plotter(
        off_screen=True, window_size=[width, height], lighting=lighting, theme=theme, **extra
    )
    plotter.render_window.SetMultiSamples(0)
    return plotter
