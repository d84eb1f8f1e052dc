#!/usr/bin/env bash
# Installs what building and testing credithub needs on Debian/Ubuntu when it is
# missing: libclang (the rocksdb crate generates its bindings with it), a C++
# compiler, and Python 3 with venv and pip (the OpenAPI check of the tests runs in a
# venv that tests/openapi/setup.sh makes).
# Safe to run repeatedly: it does nothing when everything is present.
set -euo pipefail

missing=()
# bindgen loads libclang.so or libclang-N.so; libclang-cpp (which some images ship
# without libclang itself) is a different library and does not count.
has_libclang() {
  ldconfig -p 2>/dev/null | grep -Eq '(^|[[:space:]])libclang(-[0-9.]+)?\.so' && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang.so*' >/dev/null && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang-[0-9]*.so*' >/dev/null && return 0
  return 1
}
has_libclang || missing+=(libclang-dev)
command -v c++ >/dev/null 2>&1 || missing+=(g++)
if ! command -v python3 >/dev/null 2>&1; then
  missing+=(python3 python3-venv python3-pip)
elif ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  # Debian splits venv (and the pip it installs) out of python3.
  missing+=(python3-venv python3-pip)
fi
command -v cargo >/dev/null 2>&1 || { echo "cargo is not installed: install the Rust toolchain (rustup) first" >&2; exit 1; }

[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing build dependencies: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null 2>&1; then
  SUDO="sudo"
else
  echo "need root (or sudo) to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
