#!/bin/bash
# Builds IOR from its release tarball (it ships ./configure) with Open MPI's mpicc and
# installs it under /usr/local. Shared by docker/ubuntu/Dockerfile and docker/rocky/Dockerfile,
# which run it with their IOR_VERSION build arg (the version bases.yaml declares):
#   install-ior.sh IOR_VERSION               e.g. install-ior.sh 4.0.0
#
# sha256 of the release tarball as in EasyBuild's
# easybuild/easyconfigs/i/IOR/IOR-4.0.0-gompi-2023b.eb. Any other version stops the build.
set -euo pipefail

IOR_VERSION="${1:?usage: install-ior.sh IOR_VERSION}"

case "${IOR_VERSION}" in
  4.0.0) IOR_SHA256=510b7d4ad0f287375848121aa5a1f9842db077c1d81ad0dde738e96255298158 ;;
  *) echo "no sha256 here for ior ${IOR_VERSION}" >&2; exit 1 ;;
esac

workdir="$(mktemp -d)"
cd "${workdir}"
curl -fsSLo ior.tgz "https://github.com/hpc/ior/releases/download/${IOR_VERSION}/ior-${IOR_VERSION}.tar.gz"
echo "${IOR_SHA256}  ior.tgz" | sha256sum -c -
tar -xzf ior.tgz --strip-components=1
./configure --prefix=/usr/local CC=mpicc
make -j"$(nproc)"
make install
cd /
rm -rf "${workdir}"
