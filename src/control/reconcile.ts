// Carry out a replica plan on the local process groups (docs/cabin.md §8.2): for every
// segment, the centre the plan names gets ⌈replicas / threads⌉ member processes; members
// elsewhere hand their partitions over and stop; extra members stop; members that died are
// started again. A move keeps the segment processed throughout: the new centre's members
// start and join the segment's consumer group, the controller waits until the group has
// given them partitions and they have caught up with the log as of their start, and only
// then SIGTERMs the old members (they settle — flush what the watermark closed, commit —
// and leave the group), then waits until the new centre owns every partition. Exactly once
// does not depend on this order: a partition's lease (docs/segment.md, Fencing) keeps a
// member that lost it from writing for it; the order only keeps the gap short. Members of a
// centre that is no longer offered (withdrawn, down, silent) are stopped without waiting:
// they may be dead or unreachable, and their partitions move when their sessions time out.
import { CabinError, type ReplicaPlan, type SegmentPlan } from '../cabin/index.ts';
import type { Bus } from '../bus/index.ts';
import { segmentTopic } from '../topology/index.ts';
import type { CentreGroups } from './groups.ts';
import type { AppliedState, MemberRecord } from './state.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ReconcileOptions {
  groups: CentreGroups;
  bus: Bus;
  /** Pool threads per process; 0 = each process is one replica on its main thread. */
  threads: number;
  /** Centres the allocator may use now: members elsewhere are stopped at once. */
  offered: ReadonlySet<string>;
  readyTimeoutMs: number;
  handoverTimeoutMs: number;
  /** After each member starts or stops (the state file is written here). */
  save: () => void;
  log: (line: string) => void;
}

export interface ReconcileCounts { started: number; stopped: number }

/** Pool threads of each process for `replicas` (processes × threads = replicas). */
export function processLayout(replicas: number, threads: number): number[] {
  if (threads <= 0) return Array.from({ length: replicas }, () => 0);
  const out: number[] = [];
  for (let left = replicas; left > 0; left -= threads) out.push(Math.min(threads, left));
  return out;
}

/** Forget members that exited (killed, crashed): they are started again where the plan still wants them. */
export function pruneDead(state: AppliedState, groups: CentreGroups, log: (line: string) => void): MemberRecord[] {
  const dead = state.members.filter((m) => !groups.alive(m));
  for (const m of dead) log(`  ! ${m.name} (pid ${m.pid}) is not running any more`);
  state.members = state.members.filter((m) => !dead.includes(m));
  return dead;
}

export async function reconcile(state: AppliedState, desired: ReplicaPlan, o: ReconcileOptions): Promise<ReconcileCounts> {
  const counts: ReconcileCounts = { started: 0, stopped: 0 };
  const wanted = new Set(desired.segments.map((s) => s.segment));
  const results = await Promise.allSettled([
    ...desired.segments.map((s) => reconcileSegment(state, s, o, counts)),
    ...[...new Set(state.members.map((m) => m.segment))].filter((seg) => !wanted.has(seg)).map(async (seg) => {
      for (const m of state.members.filter((x) => x.segment === seg)) await stopMember(state, m, o, counts, 'no longer in the plan');
    }),
  ]);
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failed.length) throw new CabinError('CABIN_APPLY_FAILED', failed.join('; '));
  return counts;
}

async function reconcileSegment(state: AppliedState, plan: SegmentPlan, o: ReconcileOptions, counts: ReconcileCounts): Promise<void> {
  const seg = plan.segment;
  const layout = processLayout(plan.replicas, o.threads);
  const at = () => state.members.filter((m) => m.segment === seg && m.centre === plan.centre);
  const elsewhere = state.members.filter((m) => m.segment === seg && m.centre !== plan.centre);
  const t0 = Date.now();
  // 1. start what the centre lacks
  const fresh: MemberRecord[] = [];
  for (let k = at().length; k < layout.length; k++) {
    const m = o.groups.start(plan.centre, seg, layout[k]!, state.nextMember++);
    state.members.push(m);
    fresh.push(m);
    o.save();
  }
  const since = await endOffsetMap(o.bus, segmentTopic(seg));
  await Promise.all(fresh.map(async (m) => {
    m.port = await o.groups.ready(m, o.readyTimeoutMs);
    o.save();
    counts.started++;
    o.log(`  + ${m.name} started (pid ${m.pid}, ${m.workers ? `${m.workers} threads` : 'main thread'}, metrics 127.0.0.1:${m.port}) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }));
  // 2. members elsewhere: hand over (offered centre) or stop at once (failed centre)
  const planned = elsewhere.filter((m) => o.offered.has(m.centre));
  if (planned.length) {
    const mine = at();
    await waitFor(async () => {
      const owned = (await Promise.all(mine.map((m) => o.groups.owned(m)))).flat().filter((p) => p.segment === seg);
      // next null: nothing committed yet, caught up only with an empty log
      return owned.length > 0 && owned.every((p) => (p.next ?? 0) >= (since.get(p.partition) ?? 0));
    }, o.handoverTimeoutMs, `${seg}: ${plan.centre}'s members were given no partitions, or did not catch up with the log, within ${o.handoverTimeoutMs} ms`);
    o.log(`  ~ ${seg}: ${plan.centre} owns partitions and has caught up (${((Date.now() - t0) / 1000).toFixed(1)} s); stopping the old members`);
  }
  for (const m of elsewhere) await stopMember(state, m, o, counts, o.offered.has(m.centre) ? 'moved' : `centre ${m.centre} is no longer offered`);
  // 3. extra members at the centre (a rescale down): the newest go first
  const extra = at().slice(layout.length).reverse();
  for (const m of extra) await stopMember(state, m, o, counts, 'rescaled');
  // 4. the centre owns every partition once the group has settled
  if (fresh.length || elsewhere.length || extra.length) {
    const partitions = await o.bus.partitionCount(segmentTopic(seg));
    await waitFor(async () => {
      const owned = new Set((await Promise.all(at().map((m) => o.groups.owned(m)))).flat().filter((p) => p.segment === seg).map((p) => p.partition));
      return owned.size >= partitions;
    }, o.handoverTimeoutMs, `${seg}: ${plan.centre}'s members did not own all ${partitions} partitions within ${o.handoverTimeoutMs} ms`);
    o.log(`  = ${seg}: ${plan.centre} ×${at().length} owns all ${partitions} partitions (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

async function stopMember(state: AppliedState, m: MemberRecord, o: ReconcileOptions, counts: ReconcileCounts, why: string): Promise<void> {
  // A member of a centre that failed gets no time to settle: its partitions' leases fence it.
  const how = await o.groups.stop(m, o.offered.has(m.centre) ? 30_000 : 2_000);
  state.members = state.members.filter((x) => x !== m);
  o.save();
  counts.stopped++;
  o.log(`  - ${m.name} (pid ${m.pid}) ${how === 'gone' ? 'was already gone' : how === 'killed' ? 'killed (did not stop in time)' : 'stopped (settled and left its group)'}: ${why}`);
}

async function endOffsetMap(bus: Bus, topic: string): Promise<Map<number, number>> {
  return new Map((await bus.endOffsets(topic)).map((e) => [e.partition, Number(e.offset)]));
}

async function waitFor(ok: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(what);
    await sleep(500);
  }
}
