#!/usr/bin/env bash
# Creates the virtual environment and installs what the project needs from the package
# registries: Debian's redis-server (tests and the demo start their own instances) and
# chromium (browser tests), then the Python package with its dev extras.
set -euo pipefail
VENV=${1:-.venv}

need_apt=()
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# CJK glyphs for the wallboard in headless Chromium (screenshots; Chinese labels)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need_apt+=(fonts-wqy-microhei)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
        # The Debian package starts a system-wide redis; ours start their own, so stop it.
        (service redis-server stop || true) >/dev/null 2>&1
    else
        echo "missing ${need_apt[*]}: run as root or install them with apt-get" >&2
    fi
fi

PYTHON=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e '.[dev]'
