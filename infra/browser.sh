#!/usr/bin/env bash
# The browser the console's tests drive: Debian's chromium package (Playwright drives it
# through executable_path; its own browser downloads are never used). Installed once with
# apt-get when missing (needs root, as on CI); a no-op when /usr/bin/chromium is there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "== chromium: $(chromium --version 2>/dev/null || echo present) (already installed)"
  exit 0
fi
if [[ $(id -u) != 0 ]]; then
  echo "== chromium missing and not root: install it with 'sudo apt-get install -y chromium'" >&2
  echo "   (tests/system/test_console.py fails until it is there)" >&2
  exit 0
fi
echo "== chromium: apt-get update, then apt-get install -y chromium (Debian package, ~100 MB)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q chromium
chromium --version
