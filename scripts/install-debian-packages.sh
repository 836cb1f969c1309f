#!/usr/bin/env bash
# Debian packages warren's tests need beyond npm: Chromium for the browser tests (driven by
# playwright-core; never a downloaded browser) and RabbitMQ for the test that runs `npm start`
# against its own broker node. Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
# DejaVu fonts: the OCR test renders printed text with them.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -eq 0 ]; then
  echo "debian packages: all present"
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "debian packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
