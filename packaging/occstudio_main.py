"""Entry script of the PyInstaller app: the same ``main`` as the ``occstudio`` console script."""

import multiprocessing

from occstudio.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # child processes of a frozen app re-enter here
    raise SystemExit(main())
