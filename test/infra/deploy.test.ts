// The deployment files, checked where no container engine or cluster can run them: every
// process has health checks on the port it serves them on, every `iov` command and option in
// them exists, the Kubernetes ConfigMap holds a topology that validates, the production image
// leaves the embedded engine out, and package.json's Node range agrees with every locked
// package's own (no EBADENGINE on `npm ci`).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { buildProgram } from '../../src/cli/index.ts';
import { loadTopology, parseTopology } from '../../src/topology/index.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (f: string) => readFileSync(`${ROOT}${f}`, 'utf8');
const program = buildProgram();

/** Problems with `iov <args…>`: unknown command or option. */
function checkCommand(args: string[]): string[] {
  const cmd = program.commands.find((c: Command) => c.name() === args[0]);
  if (!cmd) return [`unknown command ${args[0]}`];
  const known = new Set(cmd.options.flatMap((o) => [o.long, o.short].filter(Boolean) as string[]));
  return args.filter((a) => a.startsWith('-') && !known.has(a)).map((a) => `${args[0]}: unknown option ${a}`);
}

/** Whether version `v` (x.y.z) meets an engines range: `||` of space-separated `>=`, `>`, `<`, `<=`, `^`, `~`, `=` comparators. */
function satisfies(v: string, range: string): boolean {
  const num = (x: string) => x.replace(/^v/, '').split('.').map((n) => Number(n) || 0).concat(0, 0).slice(0, 3);
  const cmp = (a: number[], b: number[]) => a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;
  const have = num(v);
  return range.replace(/(>=|<=|>|<|\^|~|=)\s+/g, '$1').split('||').some((alt) => alt.trim().split(/\s+/).filter(Boolean).every((c) => {
    const [, op = '', ver = ''] = /^(>=|<=|>|<|\^|~|=)?\s*(.*)$/.exec(c)!;
    if (ver === '*' || ver === 'x') return true;
    const want = num(ver);
    const d = cmp(have, want);
    switch (op) {
      case '>=': return d >= 0;
      case '>': return d > 0;
      case '<=': return d <= 0;
      case '<': return d < 0;
      case '^': return d >= 0 && have[0] === want[0] && (want[0] !== 0 || have[1] === want[1]);
      case '~': return d >= 0 && have[0] === want[0] && have[1] === want[1];
      default: return d === 0;
    }
  }));
}

const argOf = (args: string[], flag: string): string | undefined => {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
};

describe('infra/deploy/compose.yaml', () => {
  const compose = parseYaml(read('infra/deploy/compose.yaml'), { merge: true }) as { services: Record<string, { command?: string[]; healthcheck?: { test: string[] }; image?: string }> };
  const services = Object.entries(compose.services);

  it('every service has a health check', () => {
    expect(services.filter(([, s]) => !s.healthcheck?.test?.length).map(([n]) => n)).toEqual([]);
  });

  it('every iov command exists with its options, and probes the port it serves', () => {
    const problems: string[] = [];
    for (const [name, s] of services.filter(([, x]) => x.image === 'iov-pipeline')) {
      const args = s.command!;
      problems.push(...checkCommand(args).map((p) => `${name}: ${p}`));
      const port = argOf(args, '--metrics-port') ?? argOf(args, '--port');
      if (!s.healthcheck!.test.join(' ').includes(`127.0.0.1:${port}/`)) problems.push(`${name}: health check does not probe port ${port}`);
    }
    expect(problems).toEqual([]);
  });

  it('the topology it runs validates and names every segment it starts', () => {
    const topo = loadTopology(`${ROOT}infra/topology/production.example.yaml`);
    const segs = services.map(([, s]) => s.command).filter((c) => c?.[0] === 'segment').map((c) => argOf(c!, '--id'));
    expect(segs.sort()).toEqual(topo.segments.map((s) => s.id).sort());
  });
});

describe('infra/deploy/k8s/iov.yaml', () => {
  const docs = parseAllDocuments(read('infra/deploy/k8s/iov.yaml')).map((d) => d.toJS() as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any

  it('holds a real topology in its ConfigMap', () => {
    const cm = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'iov-topology')!;
    const topo = parseTopology(cm.data['topology.yaml'], 'topology.yaml');
    expect(topo.segments.map((s) => s.id)).toEqual(['north', 'central', 'south']);
    expect(topo.clouds.every((c) => !c.roles.includes('storage') || c.clickhouse)).toBe(true);
  });

  it('every container runs an existing command, with readiness and liveness probes on the port it serves', () => {
    const problems: string[] = [];
    for (const d of docs.filter((x) => x.kind === 'Deployment')) {
      for (const c of d.spec.template.spec.containers) {
        problems.push(...checkCommand(c.args).map((p: string) => `${d.metadata.name}: ${p}`));
        const port = Number(argOf(c.args, '--metrics-port') ?? argOf(c.args, '--port'));
        if (!port) problems.push(`${d.metadata.name}: serves no port to probe`);
        for (const probe of ['readinessProbe', 'livenessProbe']) {
          if (c[probe]?.httpGet?.port !== port) problems.push(`${d.metadata.name}: ${probe} not on port ${port}`);
        }
        if (!c.ports?.some((p: { containerPort: number }) => p.containerPort === port)) problems.push(`${d.metadata.name}: port ${port} not declared`);
      }
    }
    expect(problems).toEqual([]);
    const segments = docs.filter((x) => x.kind === 'Deployment' && x.metadata.name.startsWith('iov-segment-'));
    expect(segments.map((x) => x.metadata.name)).toEqual(['iov-segment-north', 'iov-segment-central', 'iov-segment-south']);
  });
});

describe('the production image and the Node version', () => {
  const pkg = JSON.parse(read('package.json')) as { engines: { node: string }; dependencies: Record<string, string>; optionalDependencies?: Record<string, string> };

  it('leaves the embedded engine (chDB) out', () => {
    expect(pkg.dependencies.chdb).toBeUndefined();
    expect(pkg.optionalDependencies?.chdb).toBeDefined();
    expect(read('infra/deploy/Dockerfile')).toMatch(/npm ci --omit=dev --omit=optional/);
  });

  it('package.json admits only Node versions every locked package runs on', () => {
    // The lowest version package.json admits (its range is one ">=x.y").
    const lowest = /^>=\s*([\d.]+)$/.exec(pkg.engines.node)![1]!;
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
    const refused = Object.entries(lock.packages)
      .filter(([name, p]) => name && !Array.isArray(p.engines) && p.engines?.node && !satisfies(lowest, p.engines.node))
      .map(([name, p]) => `${name}@${p.version} needs node ${(p.engines as { node: string }).node}`);
    expect(refused, `package.json says node ${pkg.engines.node}`).toEqual([]);
    expect(satisfies(process.version, pkg.engines.node)).toBe(true);
    expect(satisfies('20.19.0', '>=22')).toBe(false); // the check can fail
  });
});
