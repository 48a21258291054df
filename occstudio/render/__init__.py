"""Off-screen capable pyvista rendering of occstudio layers (never imports Qt)."""
