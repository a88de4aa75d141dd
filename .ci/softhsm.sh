#!/usr/bin/env bash
# SoftHSM2 (a software PKCS#11 token) and OpenSC's pkcs11-tool, for the HSM tests in test/hsm.
# Installs them when missing; the tests create throwaway tokens themselves (test/helpers/softhsm.ts).
set -euo pipefail

missing=()
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
if ((${#missing[@]})); then
  echo "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
softhsm2-util --version
