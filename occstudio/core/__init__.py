"""Qt-free model: samples, datasets, jobs, edits, geometry and computations."""
