#!/usr/bin/env bash
# Debian packages warren's tests need beyond npm: Chromium for the browser tests (driven by
# playwright-core; never a downloaded browser), RabbitMQ for the tests that run their own broker
# nodes (`npm start`, the 3-node cluster), and docker-compose, which validates docker-compose.yml
# (`docker-compose config` needs no Docker engine), and for Python workers (worker/python; Debian's
# python3 only, never pip): pika for the SDK, PyTorch for the example PyTorch processor, and a stock
# Celery worker for the Celery bridge's tests; promtool checks the /metrics format. Idempotent: installs only what is missing. Needs root (or sudo).
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
# DejaVu fonts: the OCR test renders printed text with them.
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
# The Python worker SDK and its tests run on Debian's interpreter with Debian's pika.
/usr/bin/python3 -c 'import pika' >/dev/null 2>&1 || missing+=(python3-pika)
# PyTorch 1.13 (python3-torch, with numpy): the categorize-torch example model and its tests. It
# pulls about 160 packages (32 s here with a near mirror); later runs only check the import.
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
# Celery 5.2 (python3-celery) and its `celery` command (package celery): the Celery bridge's tests.
/usr/bin/python3 -c 'import celery' >/dev/null 2>&1 || missing+=(python3-celery)
[ -x /usr/bin/celery ] || missing+=(celery)

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"

# promtool (Debian package prometheus, 2.42): the metrics test runs `promtool check metrics` on the
# live /metrics. Only that one binary is taken out of the package (a Go binary that needs only libc): installing
# the package would add a prometheus user and, on a machine with systemd (a CI runner, a laptop),
# start a Prometheus server on :9090 that nothing here wants.
if ! command -v promtool >/dev/null 2>&1; then
  echo "debian packages: extracting promtool from prometheus into /usr/local/bin"
  unpack=$(mktemp -d)
  $sudo apt-get update -qq
  (cd "$unpack" && apt-get download -qq prometheus && dpkg-deb -x prometheus_*.deb root)
  $sudo install -m 755 "$unpack/root/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$unpack"
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "debian packages: all present"
  exit 0
fi
echo "debian packages: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
