#!/bin/bash
# Builds LAMMPS from its release's tag archive with MPI and the REAXFF package (the lammps
# workload runs the ReaxFF HNS example, copied to /opt/lammps/examples/reaxff/HNS) and
# installs it under /usr/local. Shared by docker/ubuntu/Dockerfile and docker/rocky/Dockerfile,
# which run it with their LAMMPS_VERSION build arg (the version bases.yaml declares):
#   install-lammps.sh LAMMPS_VERSION         e.g. install-lammps.sh 2023.8.2
#
# Each version's release tag, and the sha256 of that tag's archive as in Spack's and
# Homebrew's lammps 20230802. Any other version stops the build.
set -euo pipefail

LAMMPS_VERSION="${1:?usage: install-lammps.sh LAMMPS_VERSION}"

case "${LAMMPS_VERSION}" in
  2023.8.2) LAMMPS_TAG=stable_2Aug2023; LAMMPS_SHA256=48dc8b0b0583689e80ea2052275acbc3e3fce89707ac557e120db5564257f7df ;;
  *) echo "no release tag and sha256 here for lammps ${LAMMPS_VERSION}" >&2; exit 1 ;;
esac

workdir="$(mktemp -d)"
cd "${workdir}"
curl -fsSLo lammps.tgz "https://github.com/lammps/lammps/archive/refs/tags/${LAMMPS_TAG}.tar.gz"
echo "${LAMMPS_SHA256}  lammps.tgz" | sha256sum -c -
tar -xzf lammps.tgz --strip-components=1
cmake -S cmake -B build -D CMAKE_BUILD_TYPE=Release -D CMAKE_INSTALL_PREFIX=/usr/local \
  -D BUILD_MPI=on -D PKG_REAXFF=on
cmake --build build --parallel "$(nproc)"
cmake --install build
mkdir -p /opt/lammps/examples/reaxff
cp -r examples/reaxff/HNS /opt/lammps/examples/reaxff/
cd /
rm -rf "${workdir}"
