#!/usr/bin/env bash
# Build occstudio as a one-folder app with PyInstaller and smoke-test it.
#
#   packaging/build.sh            # from the repository root (or: make app)
#
# Output: build/pyinstaller/dist/occstudio/occstudio (+ _internal/); work files in
# build/pyinstaller/work. Installs PyInstaller into the virtualenv when it is missing.
# Environment: PY (python to use, default .venv/bin/python), OCCSTUDIO_PYI_WITH_TORCH=1
# (bundle torch), OCCSTUDIO_PYI_PLUGINS="dist ..." (bundle more installed plugins).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PY:-.venv/bin/python}
OUT=build/pyinstaller
APP_DIR=$OUT/dist/occstudio
APP=$APP_DIR/occstudio

if [ ! -x "$PY" ]; then
  echo "build.sh: $PY not found (run 'make setup' first, or set PY=...)" >&2
  exit 1
fi
if ! "$PY" -c "import PyInstaller" 2>/dev/null; then
  echo "Installing PyInstaller into $("$PY" -c 'import sys; print(sys.prefix)')"
  "$PY" -m pip install -q "pyinstaller>=6.0"
fi

echo "Building $APP_DIR (PyInstaller $("$PY" -c 'import PyInstaller; print(PyInstaller.__version__)'))"
t0=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
  --distpath "$OUT/dist" --workpath "$OUT/work" packaging/occstudio.spec
echo "Built in $(( $(date +%s) - t0 )) s"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# smoke tests: the version (start-up time), the plugins found through the bundled
# entry-point metadata, and the bundled demo opened through the registry's import strings
t=$(date +%s%N); version=$("$APP" --version); cold=$(ms "$t")
t=$(date +%s%N); "$APP" --version >/dev/null; warm=$(ms "$t")
echo "$version: --version took ${cold} ms (first run), ${warm} ms (second run)"

plugins=$("$APP" plugins list)
echo "$plugins" | sed 's/^/  plugin: /'
if echo "$plugins" | grep -q "\[failed\]"; then
  echo "build.sh: a bundled plugin failed to load (see above)" >&2
  exit 1
fi
echo "$plugins" | grep -q "^occstudio .*loader:extremeocc" || { echo "build.sh: builtins not discovered" >&2; exit 1; }

DEMO=$APP_DIR/_internal/occstudio/resources/demo
if [ -f "$DEMO/manifest.json" ]; then
  echo "  demo: $("$APP" info "$DEMO" | head -n 1)"
  # the window and the 3D view (VTK + Qt + OpenGL) on the demo, when a display can be had
  if [ -n "${DISPLAY:-}" ] || command -v xvfb-run >/dev/null; then
    shot=$OUT/smoke-screenshot.png
    rm -f "$shot"
    run=("$APP" screenshot "$DEMO" --size 1200x800 --out "$shot")
    [ -n "${DISPLAY:-}" ] || run=(xvfb-run -a -s "-screen 0 1600x1000x24" "${run[@]}")
    t=$(date +%s%N)
    "${run[@]}" >/dev/null
    [ -s "$shot" ] || { echo "build.sh: the screenshot smoke test wrote nothing" >&2; exit 1; }
    echo "  window: screenshot of the demo in $(ms "$t") ms -> $shot"
  fi
fi

echo "App folder: $APP_DIR ($(du -sh "$APP_DIR" | cut -f1))"
