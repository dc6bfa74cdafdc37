# Shared by scripts/bench-webrtc and scripts/bench-protocols (sourced, not run): free ports,
# stopping processes by PID, waiting for a log line, sampling a process from /proc. The caller
# defines die().

free_ports() { # N free TCP ports and one UDP port pair, as "p1 p2 ... rtp rtcp ice"
    python3 - "$1" <<'PY'
import socket, sys
n = int(sys.argv[1])
keep, ports = [], []
for _ in range(n):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); keep.append(s); ports.append(s.getsockname()[1])
while True:
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
    p = a.getsockname()[1]
    if p % 2 == 0 and p < 65535:
        b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            b.bind(("127.0.0.1", p + 1)); keep += [a, b]; ports += [p, p + 1]; break
        except OSError:
            pass
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0)); keep.append(u)
ports.append(u.getsockname()[1])
print(" ".join(map(str, ports)))
PY
}

SERVER_PID=""
PUB_PID=""
stop_pid() { # pid: SIGTERM, wait up to 10 s, then SIGKILL
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
EXTRA_PIDS=()
cleanup() { # every process the bench started: extra clients, the publisher, the server
    local p
    for p in "${EXTRA_PIDS[@]}"; do stop_pid "$p"; done
    EXTRA_PIDS=()
    stop_pid "$PUB_PID"; stop_pid "$SERVER_PID"; PUB_PID=""; SERVER_PID=""
}
trap cleanup EXIT

wait_log() { # file needle seconds
    for _ in $(seq $(( $3 * 10 ))); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$1" >&2; die "server exited"; }
        sleep 0.1
    done
    cat "$1" >&2
    die "no '$2' in $1 within $3 s"
}


# rss_kb PID: resident set size in KiB.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# cpu_ticks PID: user + system time in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# sample PID SECONDS: "RSS_MB CPU_PERCENT" — RSS at the end, CPU (% of one core) over the window.
sample() {
    local pid=$1 secs=$2 t0 t1 hz
    hz=$(getconf CLK_TCK)
    t0=$(cpu_ticks "$pid")
    sleep "$secs"
    t1=$(cpu_ticks "$pid")
    awk -v rss="$(rss_kb "$pid")" -v d="$((t1 - t0))" -v hz="$hz" -v s="$secs" \
        'BEGIN { printf "%.1f %.1f\n", rss / 1024, 100 * d / hz / s }'
}

# ensure_bench_media FILE: 60 s of the benchmarks' stream, encoded once.
# H264 (no B-frames, GOP 1 s: a segment a second, as hlsSegmentDuration's default) + AAC:
# what OBS and cameras send, and what a classic RTMP player (ffmpeg 5.1) reads.
ensure_bench_media() {
    local media=$1
    [ -s "$media" ] && return 0
    mkdir -p "$(dirname "$media")"
    log "encoding 60 s of H264 640x360@25 1 Mbit/s (GOP 1 s, no B-frames) + AAC"
    ffmpeg -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=640x360:rate=25" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" \
        -t 60 -map 0:v -map 1:a \
        -c:v libx264 -profile:v high -preset veryfast -tune zerolatency -bf 0 \
        -g 25 -keyint_min 25 -sc_threshold 0 \
        -b:v 1M -maxrate 1M -bufsize 1M -pix_fmt yuv420p \
        -c:a aac -b:a 64k -ac 2 \
        "$media.tmp.mkv"
    mv "$media.tmp.mkv" "$media"
}
