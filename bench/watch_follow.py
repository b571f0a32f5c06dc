#!/usr/bin/env python3
"""bench/watch_follow.py: `binwatch watch` following a binlog that grows at a fixed rate.

Replays real binlog files (default: build/bench-data-watch, made by
`scripts/gen-bench-binlogs.sh --size-gb 0.3 --out build/bench-data-watch`) into a fresh binlog
folder at --rate MB/s in 10 ms slices, rotating to a new file (added to the index) whenever a
source file is used up, while the real `binwatch watch` follows it. Reports:

  * CPU share of one core used by the daemon (utime + stime from /proc/PID/stat over the run);
  * attribution lag: for every slice, the time from its write until the daemon's
    /api/v1/status position covers it (polled every --poll-ms), p50/p99/max;
  * that the final per-table totals equal `binwatch report` on the written files.

Targets from issue 4: at most 5% of one core at 50 MB/s, lag p99 at most 1 s.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/status", timeout=2) as r:
        return json.loads(r.read())


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binwatch", default=os.path.join(root, "build", "binwatch"))
    ap.add_argument("--source", nargs="*", help="binlog files to replay (default build/bench-data-watch/*.0*)")
    ap.add_argument("--rate", type=float, default=50.0, help="MB/s (10^6 bytes)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--verbose", action="store_true", help="list the slowest slices")
    ap.add_argument("--poll-ms", type=int, default=20, help="status polling period (its cost counts in the CPU share)")
    args = ap.parse_args()
    sources = args.source or sorted(glob.glob(os.path.join(root, "build", "bench-data-watch", "*.0*")))
    sources = [s for s in sources if os.path.getsize(s) > 4096]
    if not sources:
        sys.exit("no source binlogs: run scripts/gen-bench-binlogs.sh --size-gb 0.3 --out build/bench-data-watch")

    work = tempfile.mkdtemp(prefix="binwatch-bench-watch-")
    binlog = os.path.join(work, "binlog")
    os.makedirs(binlog)
    index = os.path.join(binlog, "bench-bin.index")
    first = os.path.join(binlog, "bench-bin.000001")
    # The daemon starts at the end of an existing file: give it one with only the header events.
    with open(sources[0], "rb") as f:
        head = f.read(4096)
    # magic + the format description (its length is at offset 4 + 9).
    fde_len = int.from_bytes(head[4 + 9:4 + 13], "little")
    with open(first, "wb") as f:
        f.write(head[:4 + fde_len])
    with open(index, "w") as f:
        f.write("./bench-bin.000001\n")
    port = free_port()
    config = os.path.join(work, "binwatch.toml")
    with open(config, "w") as f:
        f.write(f'[source]\nbinlog_index = "{index}"\nstart = "end"\n'
                f'[state]\ndir = "{work}/state"\n[http]\nlisten = "127.0.0.1:{port}"\n'
                f'[partitions]\nsample_interval_ms = 1000\n')
    log = open(os.path.join(work, "daemon.log"), "w")
    daemon = subprocess.Popen([args.binwatch, "watch", "--config", config], stderr=log, stdout=log)
    try:
        for _ in range(100):
            try:
                status(port)
                break
            except OSError:
                time.sleep(0.05)
        start_file, start_offset = "bench-bin.000001", 4 + fde_len

        slices = []  # (file, end offset, time written)
        done = threading.Event()
        paced_end = [0.0]
        final_end = [None]
        written_files = [first]

        def writer():
            rate = args.rate * 1e6
            slice_bytes = int(rate / 100)
            t0 = time.monotonic()
            sent = 0
            seq = 1
            out = open(first, "ab")
            name = "bench-bin.000001"
            src_i = 0
            src = open(sources[0], "rb")
            src.seek(4 + fde_len)  # the first file already has its header
            while time.monotonic() - t0 < args.seconds:
                chunk = src.read(slice_bytes)
                if not chunk:  # rotate: next source into a new file
                    out.close()
                    src.close()
                    src_i = (src_i + 1) % len(sources)
                    src = open(sources[src_i], "rb")
                    seq += 1
                    name = f"bench-bin.{seq:06d}"
                    path = os.path.join(binlog, name)
                    written_files.append(path)
                    out = open(path, "ab")
                    with open(index, "a") as ix:
                        ix.write(f"./{name}\n")
                    continue
                out.write(chunk)
                out.flush()
                sent += len(chunk)
                slices.append((seq, out.tell(), time.monotonic()))
                wait = t0 + sent / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            paced_end[0] = time.monotonic()
            # End on whole events: the rest of the current source in one unpaced write (not a
            # lag sample), so that the daemon's last boundary is the end of what was written.
            rest = src.read()
            out.write(rest)
            out.close()
            final_end[0] = (seq, os.path.getsize(os.path.join(binlog, name)))
            done.set()

        cpu0, wall0 = cpu_seconds(daemon.pid), time.monotonic()
        w = threading.Thread(target=writer)
        w.start()
        covered = []  # (seq, offset, time observed)
        cpu_paced = None
        while not done.is_set() or not covered or (covered[-1][0], covered[-1][1]) < final_end[0]:
            if cpu_paced is None and paced_end[0]:
                cpu_paced = (cpu_seconds(daemon.pid), time.monotonic())
            try:
                s = status(port)
                p = s["position"]
                covered.append((int(p["file"].rsplit(".", 1)[1]), p["offset"], time.monotonic()))
            except OSError:
                pass
            time.sleep(args.poll_ms / 1000)
            if time.monotonic() - wall0 > args.seconds + 30:
                break
        w.join()
        cpu1, wall1 = cpu_paced if cpu_paced else (cpu_seconds(daemon.pid), time.monotonic())
        # Lag of each slice: first observation whose position is at or past the slice end.
        lags = []
        j = 0
        for seq, end, t in slices:
            while j < len(covered) and (covered[j][0], covered[j][1]) < (seq, end):
                j += 1
            if j == len(covered):
                lags.append(float("inf"))
            else:
                lags.append(max(0.0, covered[j][2] - t))
        worst = sorted(zip(lags, slices), reverse=True)[:10]
        if args.verbose:
            for lag, (seq, end, t) in worst:
                print(f"  slow slice: file {seq} offset {end} lag {1000 * lag:.0f} ms at t={t - wall0:.2f} s")
        lags.sort()
        pct = lambda q: lags[min(len(lags) - 1, int(q * len(lags)))]
        total = sum(os.path.getsize(f) for f in written_files) - start_offset
        final = status(port)
        live = {(t["schema"], t["table"]): t["bytes"] for t in final["tables"]}
        rep = subprocess.run([args.binwatch, "report", "--format", "json", "--start-position", str(start_offset)]
                             + written_files, capture_output=True, text=True)
        report = {(t["schema"], t["table"]): t["bytes"] for t in json.loads(rep.stdout)["tables"]}
        print(f"binwatch watch, binlog growing at {args.rate:.0f} MB/s for {args.seconds:.0f} s "
              f"({total / 1e6:.0f} MB, {len(written_files)} files, {len(slices)} slices of 10 ms)")
        print(f"  CPU while the binlog grew: {cpu1 - cpu0:.2f} s over {wall1 - wall0:.1f} s = "
              f"{100 * (cpu1 - cpu0) / (wall1 - wall0):.1f}% of one core (status polling included)")
        print(f"  attribution lag: p50 {1000 * pct(0.5):.0f} ms, p99 {1000 * pct(0.99):.0f} ms, max {1000 * lags[-1]:.0f} ms "
              f"(status polled every {args.poll_ms} ms)")
        print(f"  per-table totals equal binwatch report: {live == report} ({len(live)} tables)")
        return 0 if live == report else 1
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=20)
        log.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
