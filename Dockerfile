# syntax=docker/dockerfile:1
# Build a static binary, then ship it alone on scratch with CA certificates
# (time zones are embedded in the binary): small, no shell, non-root.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/gptaccess ./cmd/gptaccess \
 && mkdir -p /out/data

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/
COPY --from=build /out/gptaccess /gptaccess
COPY --from=build --chown=65532:65532 /out/data /data
USER 65532:65532
VOLUME ["/data"]
ENV GPTACCESS_DB=/data/gptaccess.db \
    GPTACCESS_HTTP_LISTEN=0.0.0.0:8080 \
    GPTACCESS_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/gptaccess", "health"]
ENTRYPOINT ["/gptaccess"]
CMD ["run"]
