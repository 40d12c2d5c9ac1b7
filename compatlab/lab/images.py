"""The MiniCluster base image tags: one per (base, arch, Go version), built by docker/."""

from __future__ import annotations

from dataclasses import dataclass

from . import catalogue
from .model import Lab, MiniCluster


@dataclass(frozen=True)
class ImageBuild:
    """One entry of the image build matrix (``.github/workflows/images.yml``): one base, one arch, one Go."""

    base: str
    os_vendor: str
    os_release: str
    arch: str
    go_version: str

    @property
    def tag(self) -> str:
        """The image tag, e.g. ``rocky-9-go1.20.14-arm64``."""
        return image_tag(self.base, self.arch, self.go_version)

    @property
    def platform(self) -> str:
        """The buildx platform, e.g. ``linux/arm64``."""
        return f"linux/{self.arch}"


def image_tag(base: str, arch: str, go_version: str) -> str:
    """The tag of one base image: ``<base>-go<go_version>-<arch>``.

    Per-arch tags, not one multi-arch manifest, so a MiniCluster names exactly the arch it runs.
    """
    return f"{base}-go{go_version}-{arch}"


def image_ref(lab: Lab, mc: MiniCluster) -> str:
    """The full image reference a MiniCluster runs: ``<lab.image_repository>:<tag>``."""
    return f"{lab.image_repository}:{image_tag(mc.base.name, mc.arch, mc.go_version)}"


def build_matrix() -> list[ImageBuild]:
    """Every image the catalogue allows: each base, on each of its arches, with each Go in ``bases.yaml``."""
    return [
        ImageBuild(base.name, base.os_vendor, base.os_release, arch, go)
        for base in catalogue.bases().values()
        for arch in base.arches
        for go in catalogue.go_versions()
    ]
