// Reading the components' /metrics: Prometheus text exposition format 0.0.4
// (`name{label="value",…} value [timestamp]`, `#` lines are HELP/TYPE comments). Only what
// the pipeline panel needs: samples with their labels; histograms come through as their
// _bucket/_sum/_count series.
import type { Registry } from 'prom-client';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A place to read one process's metrics from: a URL (another process) or a registry (this one). */
export interface MetricsTarget {
  /** Shown in the panel and in `iov status` (the URL, or e.g. "gateway (in-process)"). */
  name: string;
  read(): Promise<string>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;

export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const l of m[2].matchAll(LABEL)) labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export function urlTarget(url: string, timeoutMs = 2_000): MetricsTarget {
  return {
    name: url,
    async read() {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
      return res.text();
    },
  };
}

export function registryTarget(name: string, registry: Registry): MetricsTarget {
  return { name, read: () => registry.metrics() };
}
