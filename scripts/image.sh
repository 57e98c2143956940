#!/usr/bin/env bash
# Builds the gameday image without a Docker daemon or a registry (`make image`;
# internal/image's test runs it too): the static binary and its rootfs
# (scripts/image-rootfs.sh) on this machine, then the Dockerfile with Debian's
# buildah, whose `rootfs` stage is replaced by that folder
# (--build-context rootfs=DIR) so the golang build stage is never pulled.
#
#   scripts/image.sh [OUT]        OUT defaults to bin/image
#
#   OUT/gameday          the static binary (CGO_ENABLED=0, -trimpath, stripped)
#   OUT/rootfs/          the image's root file system
#   OUT/gameday.oci.tar  the image as an OCI archive, tagged gameday:VERSION.
#                        `skopeo copy oci-archive:OUT/gameday.oci.tar docker://REPO:TAG`
#                        pushes it (to ECR, say); `docker load -i` loads it.
#
# Needs root (buildah with the vfs storage driver and chroot isolation, no
# daemon, no user namespaces) and Debian's buildah (scripts/test-deps.sh
# installs it). buildah's storage lives in OUT/storage while it runs and is
# removed after, so nothing outside OUT is touched. VERSION (default: git
# describe, or dev) is stamped into the binary and the tag. BUILDFLAGS
# (default -trimpath, as the Dockerfile builds) are go build's flags;
# internal/image's test sets none, to reuse what `go test` compiled. GOARCH
# (default: go env GOARCH) picks the image's architecture: GOARCH=arm64 for
# Graviton (Fargate ARM64) tasks.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-bin/image}
go=${GO:-go}
version=${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}
arch=${GOARCH:-$("$go" env GOARCH)}
read -r -a buildflags <<<"${BUILDFLAGS--trimpath}"

if [ "$(id -u)" -ne 0 ]; then
	echo "image: run as root (buildah with vfs storage and chroot isolation)" >&2
	exit 2
fi
if ! command -v buildah >/dev/null 2>&1; then
	echo "image: buildah is missing; scripts/test-deps.sh installs it from Debian's packages" >&2
	exit 2
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
CGO_ENABLED=0 GOOS=linux GOARCH=$arch "$go" build "${buildflags[@]}" -ldflags="-s -w -X main.Version=$version" -o "$out/gameday" ./cmd/gameday
sh scripts/image-rootfs.sh "$out/rootfs" "$out/gameday"

storage=(--root "$out/storage" --runroot "$out/storage/run" --storage-driver vfs)
trap 'buildah "${storage[@]}" rmi --all --force >/dev/null 2>&1 || true; rm -rf "$out/storage"' EXIT
# The context holds nothing: every file comes from the rootfs stage.
mkdir -p "$out/context"
buildah "${storage[@]}" bud --isolation chroot --quiet --os linux --arch "$arch" \
	--build-context rootfs="$out/rootfs" \
	-f "$PWD/Dockerfile" -t "gameday:$version" "$out/context" >/dev/null
rm -f "$out/gameday.oci.tar"
buildah "${storage[@]}" push --quiet "gameday:$version" "oci-archive:$out/gameday.oci.tar:gameday:$version"
echo "image: $out/gameday.oci.tar (gameday:$version)"
