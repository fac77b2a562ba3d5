#!/usr/bin/env bash
# Copies the libraries mien's build needs (the non-tool packages of scripts/bootstrap.sh: headers, CMake package
# files, and the shared libraries of the few that have one) from this machine into .gpu-deps/, laid out as an
# install prefix. A GPU machine that cannot install packages (no network) then builds with
#   CMAKE_PREFIX_PATH=.gpu-deps CPLUS_INCLUDE_PATH=.gpu-deps/include
# which scripts/gpu-check.sh sets up by itself when the folder is there. Run it here, in the repository root, on
# a Debian/Ubuntu machine where scripts/bootstrap.sh has run; the folder is kept out of git
# (.git/info/exclude), so pass it to the tool that copies the tree to the GPU machine as an extra path.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=.gpu-deps
# Tools, and what only the CPU sanitizer tests need: not staged.
tools=" build-essential cmake pkg-config gnuplot-nox clang libomp-14-dev "

# The package list, read from bootstrap.sh so that the two cannot drift apart.
mapfile -t packages < <(sed -n '/^packages=(/,/^)/p' scripts/bootstrap.sh | sed -e 's/#.*//' -e 's/packages=(//' -e 's/)//' |
  tr -s ' \t' '\n' | sed '/^$/d')

rm -rf "$dest"
mkdir -p "$dest"
staged=()
stage_package() {
  local pkg=$1
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || {
    echo "stage-gpu-deps: $pkg is not installed here (run scripts/bootstrap.sh first)" >&2
    return 1
  }
  # Headers, CMake and pkg-config files, and libraries; not documentation.
  dpkg -L "$pkg" | while read -r f; do
    [ -f "$f" ] || continue
    case "$f" in
      /usr/include/* | /usr/lib/* | /usr/share/*/cmake/* | /usr/share/cmake/* | /usr/share/pkgconfig/*)
        mkdir -p "$dest/$(dirname "${f#/usr/}")"
        cp -a "$f" "$dest/${f#/usr/}"
        ;;
    esac
  done
  # Symbolic links (libfoo.so -> libfoo.so.9) are not regular files; copy them too.
  dpkg -L "$pkg" | while read -r f; do
    if [ -L "$f" ] && [[ "$f" == /usr/lib/* ]]; then
      mkdir -p "$dest/$(dirname "${f#/usr/}")"
      cp -a "$f" "$dest/${f#/usr/}"
    fi
  done
  staged+=("$pkg")
}

for pkg in "${packages[@]}"; do
  [[ "$tools" == *" $pkg "* ]] && continue
  stage_package "$pkg"
  # The runtime libraries a -dev package links against (libfmt-dev -> libfmt9).
  for dep in $(dpkg-query -W -f='${Depends}' "$pkg" | tr ',' '\n' | sed -e 's/(.*)//' -e 's/|.*//' -e 's/:any//' | tr -d ' '); do
    if [[ "$dep" == lib* && "$dep" != *-dev && "$dep" != libc6* && "$dep" != libstdc++* && "$dep" != libgcc* ]]; then
      stage_package "$dep" || true
    fi
  done
done

grep -qx '/.gpu-deps/' .git/info/exclude 2>/dev/null || echo '/.gpu-deps/' >> .git/info/exclude
echo "stage-gpu-deps: staged ${staged[*]} into $dest ($(du -sh "$dest" | cut -f1))"
