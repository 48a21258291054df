"""The Qt user interface of occstudio (the only layer that imports PySide6)."""
