#!/bin/bash
# Puts the source of the distributed Go fractal (converged-computing/distributed-fractal) and
# its Go modules into /opt/fractal, for the fractal workload to build on the cluster with the
# image's own Go: that build is what the workload's Go need is about, so nothing is compiled
# here. Shared by docker/ubuntu/Dockerfile and docker/rocky/Dockerfile, which run it with their
# FRACTAL_COMMIT build arg:
#   install-fractal.sh FRACTAL_COMMIT        e.g. install-fractal.sh 6f25ba1fcfa8751e76ab25f07cf92c34bf3da817
#
# The repository has no releases; the commit is its main branch of 2024-03-17 (pull request #6,
# "fix: bug that image is not generated"). The clone is checked against it. The modules are
# fetched with the image's Go (`go mod download`), so its module cache suits the Go that builds
# from it; the job then builds offline (GOPROXY=off). Any other commit stops the build.
set -euo pipefail

FRACTAL_COMMIT="${1:?usage: install-fractal.sh FRACTAL_COMMIT}"

case "${FRACTAL_COMMIT}" in
  6f25ba1fcfa8751e76ab25f07cf92c34bf3da817) ;;
  *) echo "no pinned distributed-fractal commit here for ${FRACTAL_COMMIT}" >&2; exit 1 ;;
esac

git clone https://github.com/converged-computing/distributed-fractal /opt/fractal
git -C /opt/fractal checkout --quiet "${FRACTAL_COMMIT}"
test "$(git -C /opt/fractal rev-parse HEAD)" = "${FRACTAL_COMMIT}"
cd /opt/fractal
GOFLAGS=-mod=mod go mod download
