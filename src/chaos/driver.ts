// The chaos driver: at seeded random moments it SIGKILLs segment and gateway processes (the
// supervisor restarts them) and pauses one segment process past the group's session timeout
// (SIGSTOP … SIGCONT). The same seed gives the same schedule (moments and victims' slots).
import { mulberry32 } from '../sim/index.ts';
import type { Supervisor } from '../local/index.ts';
import { runClock } from './run.ts';

export type ChaosAction = 'kill' | 'pause';

export interface ChaosEvent {
  atMs: number;
  action: ChaosAction;
  /** Which supervisor the victim belongs to. */
  group: 'segment' | 'gateway';
  /** Index of the victim among that group's members. */
  slot: number;
  /** For a pause: how long the process stays stopped. */
  forMs?: number;
}

export interface ChaosPlanOptions {
  seed: number;
  durationMs: number;
  segmentProcesses: number;
  gateways: number;
  /** The consumer group's session timeout: a pause lasts longer than this. */
  sessionTimeoutMs: number;
  segmentKills?: number;
  gatewayKills?: number;
  pauses?: number;
}

/** Events fall in the middle of the run (15 %–70 % of it), so restarts and rejoins finish before the end. */
export function planChaos(o: ChaosPlanOptions): ChaosEvent[] {
  const rng = mulberry32(o.seed);
  const at = () => Math.round(o.durationMs * (0.15 + 0.55 * rng.next()));
  const pick = (n: number) => Math.floor(rng.next() * n);
  const events: ChaosEvent[] = [];
  for (let i = 0; i < (o.segmentKills ?? 2); i++) events.push({ atMs: at(), action: 'kill', group: 'segment', slot: pick(o.segmentProcesses) });
  if (o.gateways > 1) for (let i = 0; i < (o.gatewayKills ?? 1); i++) events.push({ atMs: at(), action: 'kill', group: 'gateway', slot: pick(o.gateways) });
  for (let i = 0; i < (o.pauses ?? 1); i++) {
    events.push({ atMs: at(), action: 'pause', group: 'segment', slot: pick(o.segmentProcesses), forMs: o.sessionTimeoutMs + 2_000 + Math.round(2_000 * rng.next()) });
  }
  return events.sort((a, b) => a.atMs - b.atMs);
}

export interface ChaosRun {
  /** Resolves when every event has fired and every pause has ended. */
  done: Promise<void>;
  cancel(): void;
}

/** Fire `events` against the supervisors, logging each ("t+7.3 s SIGKILL segment-2 (pid 123)"). */
export function runChaos(events: ChaosEvent[], targets: { segment: Supervisor; gateway: Supervisor }, log: (line: string) => void, t0 = Date.now()): ChaosRun {
  const timers = new Set<NodeJS.Timeout>();
  const pending: Promise<void>[] = [];
  let cancelled = false;
  const stamp = () => `${runClock(t0)} s`;
  // Processes this driver SIGKILLed: one stays "running" until the supervisor sees its exit,
  // and must not be picked again meanwhile (a pause of a dying process pauses nothing).
  const killed = new Set<number>();
  for (const ev of events) {
    pending.push(new Promise<void>((resolve) => {
      const fire = () => {
        timers.delete(t);
        if (cancelled) return resolve();
        const sup = targets[ev.group];
        // The slot picks among the members running at that moment (a restarting one cannot be hit).
        const running = sup.members().filter((m) => m.state === 'running' && m.pid && !killed.has(m.pid));
        const victim = running[ev.slot % Math.max(1, running.length)];
        if (!victim) {
          log(`${stamp()} skip ${ev.action} of a ${ev.group} process: none is running`);
          return resolve();
        }
        if (ev.action === 'kill') {
          log(`${stamp()} SIGKILL ${victim.name} (pid ${victim.pid})`);
          killed.add(victim.pid!);
          sup.signal(victim.name, 'SIGKILL');
          return resolve();
        }
        log(`${stamp()} SIGSTOP ${victim.name} (pid ${victim.pid}) for ${(ev.forMs! / 1000).toFixed(1)} s (past the session timeout)`);
        sup.signal(victim.name, 'SIGSTOP');
        const resume = setTimeout(() => {
          timers.delete(resume);
          log(`${stamp()} SIGCONT ${victim.name} (pid ${victim.pid})`);
          sup.signal(victim.name, 'SIGCONT');
          resolve();
        }, ev.forMs);
        timers.add(resume);
      };
      const t = setTimeout(fire, Math.max(0, t0 + ev.atMs - Date.now()));
      timers.add(t);
    }));
  }
  return {
    done: Promise.all(pending).then(() => {}),
    cancel() {
      cancelled = true;
      for (const t of timers) clearTimeout(t);
      for (const m of targets.segment.members()) if (m.state === 'paused') targets.segment.signal(m.name, 'SIGCONT');
    },
  };
}
