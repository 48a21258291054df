"""Readers and writers of every format occstudio speaks (Qt- and VTK-free)."""
