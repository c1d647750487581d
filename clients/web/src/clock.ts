// The server's clock as seen from the page: an offset measured over HTTP, NTP-style, keeping the
// sample with the shortest round trip. Used only to report pose age and latency.

/** Local wall-clock time, milliseconds since the Unix epoch, with sub-millisecond resolution. */
export const localNowMs = () => performance.timeOrigin + performance.now();

/** How long one /api/time request may take before `sync` fails (and the page retries). */
const TIME_REQUEST_TIMEOUT_MS = 5000;

export class ServerClock {
  /** Add to local time to get server time, milliseconds. */
  offsetMs = 0;
  /** Round trip of the sample the offset came from, milliseconds. */
  rttMs = Infinity;

  async sync(base: string, samples = 8): Promise<void> {
    for (let i = 0; i < samples; i++) {
      const t0 = localNowMs();
      const response = await fetch(`${base}/api/time`, { cache: "no-store", signal: AbortSignal.timeout(TIME_REQUEST_TIMEOUT_MS) });
      const { server_us } = await response.json();
      const t1 = localNowMs();
      if (t1 - t0 < this.rttMs) {
        this.rttMs = t1 - t0;
        this.offsetMs = server_us / 1000 - (t0 + t1) / 2;
      }
    }
  }

  /** Server time now, microseconds since the Unix epoch. */
  nowUs(): number {
    return (localNowMs() + this.offsetMs) * 1000;
  }
}
