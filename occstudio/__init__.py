"""occstudio: a desktop studio for 3D occupancy and amodal-3D research data.

Layers (enforced by import-linter): ``cli -> gui -> builtins -> render -> io -> plugins -> core``.
"""

__version__ = "0.1.0"
