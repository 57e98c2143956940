# The gameday image, for load-generator workers (`gameday worker`, started by a
# coordinating `gameday run` with load.generators on ECS or Kubernetes) and for
# running gameday itself in a container: a static binary (CGO_ENABLED=0) on an
# empty base (FROM scratch) with what distroless/static:nonroot carries that it
# uses: CA certificates, /etc/passwd and /etc/group with nonroot (65532),
# nsswitch.conf, /tmp and /home/nonroot (scripts/image-rootfs.sh). No shell, no
# package manager; runs as nonroot.
#
#   docker build -t gameday .
#   docker run --rm -e GAMEDAY_WORKER_TOKEN=... gameday worker --coordinator http://10.0.1.5:7070 --id RUN-w0
#
# Built and checked in CI without a Docker daemon or a registry: `make image`
# (scripts/image.sh) builds the binary and the rootfs on the host and runs this
# same file with Debian's buildah, handing the host's rootfs in as the `rootfs`
# stage (`--build-context rootfs=DIR`), so the golang image is never pulled and
# the final stage below is the one that is built. internal/image's test builds
# the image that way, checks it with skopeo and runs its entrypoint.
# See docs/load-generators.md ("The worker image").
# The build stage runs on the builder's platform and cross-compiles for the
# target's (docker buildx build --platform linux/arm64 for Graviton tasks).
FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -trimpath -ldflags="-s -w -X main.Version=${VERSION}" -o /out/gameday ./cmd/gameday \
 && sh scripts/image-rootfs.sh /out/rootfs /out/gameday

FROM scratch AS rootfs
COPY --from=build /out/rootfs/ /

# The coordinator image, for `gameday run` inside a Kubernetes cluster with
# load.generators engine kubernetes (configs/k8s/coordinator.yaml): the same
# root file system plus kubectl, checked against the release's published SHA-256.
#   docker build --target coordinator -t gameday-coordinator .
# `make image` builds only the final stage (buildah skips unused stages), so CI
# never fetches kubectl.
FROM --platform=$BUILDPLATFORM golang:1.26 AS kubectl
ARG KUBECTL_VERSION=v1.32.4
ARG TARGETARCH=amd64
RUN curl -fsSLo /kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl" \
 && curl -fsSLo /kubectl.sha256 "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl.sha256" \
 && echo "$(cat /kubectl.sha256)  /kubectl" | sha256sum --check \
 && chmod 0755 /kubectl

FROM scratch AS coordinator
COPY --from=rootfs / /
COPY --from=kubectl /kubectl /usr/local/bin/kubectl
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/gameday"]
CMD ["run", "--help"]

# The worker image (the default target, and the one `make image` builds).
FROM scratch
COPY --from=rootfs / /
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/gameday"]
CMD ["worker", "--help"]
