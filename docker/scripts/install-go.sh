#!/bin/bash
# Installs Go from the official tarball into /usr/local/go. Shared by docker/ubuntu/Dockerfile
# and docker/rocky/Dockerfile, which run it with their build args:
#   install-go.sh GO_VERSION TARGETARCH      e.g. install-go.sh 1.20.14 arm64
#
# The tarball is checked against the checksums the Go project publishes at
# https://go.dev/dl/ (https://go.dev/dl/?mode=json&include=all); the same values are in
# docker-library/golang commits 0fc9e498 ("Update 1.15 to 1.15.15") and b979efaa
# ("Update 1.20 to 1.20.14"). Any other version or arch stops the build.
set -euo pipefail

GO_VERSION="${1:?usage: install-go.sh GO_VERSION TARGETARCH}"
TARGETARCH="${2:?usage: install-go.sh GO_VERSION TARGETARCH}"

case "${GO_VERSION}-${TARGETARCH}" in
  1.15.15-amd64) GO_SHA256=0885cf046a9f099e260d98d9ec5d19ea9328f34c8dc4956e1d3cd87daaddb345 ;;
  1.15.15-arm64) GO_SHA256=714abb01af210473dd6af331094ad6847162eff81a7fc7241d24f5a85496c9fa ;;
  1.20.14-amd64) GO_SHA256=ff445e48af27f93f66bd949ae060d97991c83e11289009d311f25426258f9c44 ;;
  1.20.14-arm64) GO_SHA256=2096507509a98782850d1f0669786c09727053e9fe3c92b03c0d96f48700282b ;;
  *) echo "no published checksum here for go${GO_VERSION} linux-${TARGETARCH}" >&2; exit 1 ;;
esac

curl -fsSLo /tmp/go.tgz "https://dl.google.com/go/go${GO_VERSION}.linux-${TARGETARCH}.tar.gz"
echo "${GO_SHA256}  /tmp/go.tgz" | sha256sum -c -
tar -C /usr/local -xzf /tmp/go.tgz
rm /tmp/go.tgz
/usr/local/go/bin/go version | grep -F "go${GO_VERSION} linux/${TARGETARCH}"
