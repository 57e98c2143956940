// Package image holds the test of gameday's container image (the
// repository's Dockerfile): it builds the image as CI can, without a Docker
// daemon or a registry (scripts/image.sh: Debian's buildah, the Dockerfile's
// rootfs stage laid out on this machine by scripts/image-rootfs.sh), checks
// the OCI archive with skopeo and the image's files, and runs the image's
// entrypoint in a container: `gameday version`, and `gameday worker` sending
// a slice of a real run for a coordinator on loopback. It has no code of its
// own.
package image
