#!/usr/bin/env bash
# Resolve requirements.txt for learners' platforms without installing anything:
# pip resolves the full dependency tree from wheels for each platform and Python version.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP=${PIP:-.venv/bin/pip}
status=0
# Each platform as the list of wheel tags a pip on that machine accepts (pip does not expand them itself).
linux="manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64 linux_x86_64"
mac_arm="macosx_14_0_arm64 macosx_13_0_arm64 macosx_12_0_arm64 macosx_11_0_arm64 macosx_10_9_universal2"
windows="win_amd64"
for name in linux mac_arm windows; do
  flags=()
  for tag in ${!name}; do flags+=(--platform "$tag"); done
  platform=$name
  # pip evaluates environment markers for the machine it runs on, not for --platform: resolve the
  # TensorFlow line ourselves (the CPU-only build on Linux x86-64, plain tensorflow elsewhere).
  reqs=$(mktemp)
  grep -v '^tensorflow' requirements.txt >"$reqs"
  if [ "$name" = linux ]; then echo "tensorflow-cpu==2.21.0" >>"$reqs"; else echo "tensorflow==2.21.0" >>"$reqs"; fi
  for py in 3.11 3.12 3.13; do
    target=$(mktemp -d)
    if "$PIP" install --dry-run --quiet --ignore-installed --only-binary=:all: \
        "${flags[@]}" --python-version "$py" --target "$target" -r "$reqs" >"$target.log" 2>&1; then
      echo "ok    $platform python $py"
    else
      echo "FAIL  $platform python $py"; tail -5 "$target.log"; status=1
    fi
    rm -rf "$target" "$target.log"
  done
  rm -f "$reqs"
done
exit $status
