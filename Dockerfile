# Multi-stage build of ferromtx into a small runtime image (docs/deploy.md, "Container image"):
#   docker build --build-arg FERROMTX_GIT_COMMIT=$(git rev-parse --short HEAD) -t ferromtx:local .
#   docker save -o ferromtx.tar ferromtx:local
# Like the upstream MediaMTX image, the configuration is read from /mediamtx.yml (mount
# yours there); without it the built-in defaults apply (those of MediaMTX's default file).

FROM rust:1-bookworm AS build
# The build context has no .git (.dockerignore): the commit shown by `ferromtx --version`,
# the startup line and /v3/info comes from this argument ("unknown" when not given).
ARG FERROMTX_GIT_COMMIT=unknown
# cmake builds libopus (the Opus encoder of WebRTC audio transcoding), linked statically.
RUN apt-get update && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ferromtx \
 && install -D -m 0755 target/release/ferromtx /out/ferromtx

# The binary needs only glibc, libgcc_s and libm, all in the slim image (checked with ldd,
# see docs/deploy.md); TLS roots are built in, so no ca-certificates.
FROM debian:bookworm-slim
RUN groupadd --gid 10001 ferromtx \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin ferromtx \
 && install -d -o ferromtx -g ferromtx -m 0750 /recordings
COPY --from=build /out/ferromtx /ferromtx
# "/" so that /mediamtx.yml is the file found, as in the upstream image; relative paths in
# the configuration (recordPath ./recordings/...) resolve under it.
WORKDIR /
USER 10001:10001
# MediaMTX's default ports. Served today: RTSP 8554/tcp, RTP/RTCP 8000-8001/udp, RTSPS
# 8322/tcp, WebRTC 8889/tcp and ICE 8189/udp, API 9997, metrics 9998, pprof 9999 (see
# docs/compat.md); RTMP 1935, RTMPS 1936, HLS 8888, SRT 8890/udp, playback 9996 are
# reserved for the protocols still missing. WebRTC needs the host's addresses in its ICE
# candidates: run with --network host or set webrtcAdditionalHosts.
EXPOSE 8554/tcp 8322/tcp 8000/udp 8001/udp 8889/tcp 8189/udp 9997/tcp 9998/tcp 9999/tcp \
       1935/tcp 1936/tcp 8888/tcp 8890/udp 9996/tcp
STOPSIGNAL SIGTERM
ENTRYPOINT ["/ferromtx"]
