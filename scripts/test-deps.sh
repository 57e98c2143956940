#!/usr/bin/env bash
# Installs what the report tests need beyond Go, from Debian's packages:
#   chromium       headless rendering of the HTML report (charts drawn, screenshot)
#   libxml2-utils  xmllint, to validate the JUnit XML against its schema
#   awscli, python3-boto3  the sandbox conformance suite: the AWS CLI and
#                  boto3 (with /usr/bin/python3) drive the sandbox as people do
#   buildah, skopeo  the container image (internal/image, `make image`): built
#                  from the Dockerfile without a Docker daemon, then inspected
#   kubernetes-client  kubectl, which the kubernetes load-generator engine
#                  drives; its tests point it at a loopback API server
#                  (internal/kubefake). Any kubectl on PATH will do.
# `make test` runs this first. It does nothing when all are already there.
set -euo pipefail

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)
[ -x /usr/bin/aws ] || need+=(awscli)
/usr/bin/python3 -c 'import boto3' >/dev/null 2>&1 || need+=(python3-boto3)
command -v buildah >/dev/null 2>&1 || need+=(buildah)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v kubectl >/dev/null 2>&1 || need+=(kubernetes-client)
[ ${#need[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "test-deps: missing ${need[*]} and no apt-get to install them" >&2
	exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	sudo=(sudo)
fi
echo "test-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when they are missing or do not know a package.
if ! apt-cache show "${need[@]}" >/dev/null 2>&1; then
	"${sudo[@]}" apt-get update -qq
fi
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
