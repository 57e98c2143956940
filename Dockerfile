# The gameday image, for load-generator workers (`gameday worker`, started by a
# coordinating `gameday run` with load.generators on ECS or Kubernetes) and for
# running gameday itself in a container. A static binary (CGO_ENABLED=0) on
# distroless/static: no shell, no package manager, runs as nonroot.
#
#   docker build -t gameday .
#   docker run --rm -e GAMEDAY_WORKER_TOKEN=... gameday worker --coordinator http://10.0.1.5:7070 --id RUN-w0
#
# Not built in this repository's CI yet: the development machines have a
# docker client but no daemon (issue 15).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/gameday ./cmd/gameday

# The coordinator image, for `gameday run` inside a Kubernetes cluster with
# load.generators engine kubernetes (configs/k8s/coordinator.yaml): gameday and
# kubectl, checked against the release's published SHA-256.
#   docker build --target coordinator -t gameday-coordinator .
FROM golang:1.26 AS kubectl
ARG KUBECTL_VERSION=v1.32.4
ARG TARGETARCH=amd64
RUN curl -fsSLo /kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl" \
 && curl -fsSLo /kubectl.sha256 "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH}/kubectl.sha256" \
 && echo "$(cat /kubectl.sha256)  /kubectl" | sha256sum --check \
 && chmod 0755 /kubectl

FROM gcr.io/distroless/static-debian12:nonroot AS coordinator
COPY --from=build /out/gameday /gameday
COPY --from=kubectl /kubectl /usr/local/bin/kubectl
USER nonroot:nonroot
ENTRYPOINT ["/gameday"]
CMD ["run", "--help"]

# The worker image (the default target).
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gameday /gameday
USER nonroot:nonroot
ENTRYPOINT ["/gameday"]
CMD ["worker", "--help"]
