#!/bin/sh
# Lays out the root file system of the gameday image in ROOTFS, for the
# Dockerfile's final stage (FROM scratch): what distroless/static:nonroot
# carries that a static Go binary uses, and the binary.
#
#   scripts/image-rootfs.sh ROOTFS BINARY [CA_BUNDLE]
#
#   /gameday                            BINARY, built with CGO_ENABLED=0
#   /etc/passwd, /etc/group             root, nobody and nonroot (65532), as distroless has them
#   /etc/nsswitch.conf                  hosts: files dns
#   /etc/ssl/certs/ca-certificates.crt  CA_BUNDLE (default: Debian's ca-certificates bundle)
#   /tmp                                1777
#   /home/nonroot                       0700, owned by 65532:65532 (the working directory)
#
# No time zone data: gameday only uses UTC and local time, never a named zone.
# The Dockerfile runs it in its build stage; `make image` runs it on the host
# and hands the result to buildah as that stage. POSIX sh: the golang image's
# /bin/sh is dash. Run it as root (the owner of /home/nonroot is set with chown).
set -eu

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 ROOTFS BINARY [CA_BUNDLE]" >&2
	exit 2
fi
rootfs=$1
binary=$2
cabundle=${3:-/etc/ssl/certs/ca-certificates.crt}

for f in "$binary" "$cabundle"; do
	if [ ! -f "$f" ]; then
		echo "image-rootfs: $f: not a regular file" >&2
		exit 2
	fi
done
if [ "$(id -u)" -ne 0 ]; then
	echo "image-rootfs: run as root (it sets the owner of /home/nonroot to 65532)" >&2
	exit 2
fi

rm -rf "$rootfs"
umask 022
mkdir -p "$rootfs/etc/ssl/certs" "$rootfs/tmp" "$rootfs/home/nonroot" "$rootfs/root"
install -m 0755 "$binary" "$rootfs/gameday"
install -m 0644 "$cabundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nobody:x:65534:
nonroot:x:65532:
GROUP
echo 'hosts: files dns' >"$rootfs/etc/nsswitch.conf"
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group" "$rootfs/etc/nsswitch.conf"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root" "$rootfs/home/nonroot"
chown 65532:65532 "$rootfs/home/nonroot"
