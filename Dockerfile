# Leitai in a container: a static binary on a small base, run as a user
# without privileges. Build with `docker build -t leitai .`; run with
# `docker run -p 8080:8080 -v leitai-data:/data leitai`.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git, so the version and commit come in as
# arguments: docker build --build-arg VERSION=v0.1.0 --build-arg COMMIT=$(git rev-parse HEAD) .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w \
      -X github.com/leitai/leitai/internal/version.Version=${VERSION} \
      -X github.com/leitai/leitai/internal/version.Commit=${COMMIT}" \
    -o /out/leitai ./cmd/leitai

FROM alpine:3.20
RUN adduser -D -H -u 10001 leitai && mkdir /data && chown leitai /data
COPY --from=build /out/leitai /usr/local/bin/leitai
USER leitai
ENV LEITAI_DATA=/data LEITAI_ADDR=:8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/leitai"]
CMD ["serve"]
