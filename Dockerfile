# Multi-stage build of ferromtx into a small runtime image.
#   docker build -t ferromtx:local . && docker save -o ferromtx.tar ferromtx:local
# Like the upstream MediaMTX image, the configuration is read from /mediamtx.yml
# (mount yours there); without it the built-in defaults apply.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p ferromtx \
 && install -D -m 0755 target/release/ferromtx /out/ferromtx

FROM debian:bookworm-slim
RUN useradd --system --no-create-home --uid 10001 ferromtx
COPY --from=build /out/ferromtx /ferromtx
WORKDIR /
USER 10001
# RTSP, RTP/RTCP, RTMP, HLS, WebRTC HTTP and ICE, SRT, API, metrics, pprof, playback
EXPOSE 8554/tcp 8000/udp 8001/udp 1935/tcp 8888/tcp 8889/tcp 8189/udp 8890/udp \
       9997/tcp 9998/tcp 9999/tcp 9996/tcp
ENTRYPOINT ["/ferromtx"]
