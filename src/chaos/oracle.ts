// A local multi-process run's start and end against the batch oracle, shared by the chaos
// demo and the apply demo (src/control): a clean start on used servers (each segment's group
// pointed at its topic's end, the run's databases created), and the checks over what the
// topics hold (docs/scaleout.md §3).
import { runChecks, type Check } from '../embedded/index.ts';
import type { Runtime } from '../runtime/index.ts';
import type { SimulationReport } from '../sim/index.ts';
import { segmentGroup, segmentTopic } from '../topology/index.ts';
import { atLogStart, endOffsets, firstCopies, isLogTick, readLog, seekGroup, type LogCopy, type LogEntry, type Offsets } from './log.ts';

/** Topics made, each segment's group pointed at its topic's end, the stores migrated; the start offsets per topic. */
export async function cleanStart(rt: Runtime): Promise<Map<string, Offsets>> {
  const { topology } = rt;
  const bus = rt.bus();
  const stores = await rt.stores();
  await rt.ensureTopics();
  const start = new Map<string, Offsets>();
  for (const s of topology.segments) start.set(segmentTopic(s.id), await endOffsets(bus, segmentTopic(s.id)));
  // A topic's end at 0 is an empty log (the run's own topics): its group cannot have committed
  // past it, and starts there anyway, so only a used topic needs the seek (a group join each).
  const used = topology.segments.filter((s) => !atLogStart(start.get(segmentTopic(s.id))!));
  await Promise.all(used.map((s) => seekGroup(bus, segmentGroup(s.id), segmentTopic(s.id), start.get(segmentTopic(s.id))!)));
  for (const s of stores) await s.migrate();
  return start;
}

export interface OracleCheckInput {
  /** The run's runtime (its topology, bus, stores). */
  rt: Runtime;
  /** Where the run began in each topic (cleanStart). */
  start: ReadonlyMap<string, Offsets>;
  sim: SimulationReport;
  windowS: number;
  allowedLatenessS: number;
  /** Prefix of the consumer groups that read the topics back. */
  readGroup: string;
}

/** Nothing lost, stored = owned packets, Σ flow = on-time packets, federated flow = batch oracle, no double count. */
export async function checkAgainstOracle(i: OracleCheckInput): Promise<Check[]> {
  const { rt, sim } = i;
  const { topology } = rt;
  const bus = rt.bus();
  const stores = await rt.stores();
  const checks: Check[] = [];
  // The topics are read back side by side: each read is mostly a consumer group's join and
  // leave, waiting on the cluster (~5 s each on the loaded box), not work.
  const entries: LogEntry[] = (await Promise.all([...i.start].map(async ([t, from]) => {
    const segment = topology.segments.find((s) => segmentTopic(s.id) === t)!.id;
    const end = await endOffsets(bus, t);
    return readLog(bus, t, segment, from, end, `${i.readGroup}-${t}`);
  }))).flat();
  const logged = entries.filter((e) => !isLogTick(e)).length;
  // The oracle's input: first copies and the ticks, in log order per partition.
  const oracleInput = firstCopies(entries);
  const packets = oracleInput.filter((e): e is LogCopy => !isLogTick(e));
  const owned = (c: LogCopy) => !c.crossing && c.segment === c.ownerSegment;
  const segRows = [];
  for (const s of topology.segments) {
    const store = stores.find((x) => x.cloud === s.cloud)!;
    const [p] = await store.query<{ n: string }>(`SELECT count() AS n FROM packets WHERE segment = '${s.id}'`);
    const [f] = await store.query<{ n: string }>(`SELECT sum(packets) AS n FROM traffic_flow WHERE segment = '${s.id}'`);
    segRows.push({ segment: s.id, ownedProduced: packets.filter((c) => c.segment === s.id && owned(c)).length, packetsStored: Number(p?.n ?? 0), flowPackets: Number(f?.n ?? 0) });
  }
  const acceptedOwned = packets.filter(owned).length;
  // Owned copies in the log, later copies of a packet included: a retry whose first attempt
  // landed but was never recorded as a duplicate (the gateway killed between the produce and
  // its dedup reservation) lands again and is answered "accepted" twice for one packet.
  const ownedCopies = entries.filter((e): e is LogCopy => !isLogTick(e) && owned(e)).length;
  // Every batch got a final answer (none given up), so every packet sent was rejected as
  // bad, or acknowledged (accepted, or a duplicate of a copy that landed); what landed is
  // in the log, and the checks below compare the stores with the log. The simulator counts
  // acknowledgements (the gateway answers counts, not packet ids), so each one must be
  // matched by an owned copy in the log.
  checks.push({
    name: 'nothing lost: every acknowledged packet is in the log',
    ok: sim.failedBatches === 0 && sim.accepted <= ownedCopies,
    detail: `${sim.accepted} packets accepted by the gateways (${sim.retriedDuplicates} more answered as duplicates on a retry whose first attempt had landed), ${ownedCopies} owned copies in the log (${acceptedOwned} distinct, ${ownedCopies - acceptedOwned} landed twice by a retry); ${sim.failedBatches} batches never acknowledged`,
  });
  const federator = await rt.federator({ stores, limits: { maxRows: 2_000_000, maxCloudRows: 2_000_000, timeoutMs: 60_000 } });
  const result = await runChecks({
    topology, stores, federator, tap: { packets: oracleInput, produced: logged }, gateway: { accepted: acceptedOwned, produced: logged },
    windowS: i.windowS, allowedLatenessS: i.allowedLatenessS, segments: segRows,
  });
  // The gateway-vs-bus check compares the log with itself here; the acknowledged side is the simulator's.
  checks.push(...result.checks.filter((c) => c.name !== 'gateway produced what the bus acknowledged'));
  const dupRows: string[] = [];
  for (const s of stores) {
    const [r] = await s.query<{ n: string }>('SELECT count() - uniqExact(segment, vehicle_id, seq, ts_ms) AS n FROM packets');
    if (Number(r?.n ?? 0) !== 0) dupRows.push(`${s.cloud}: ${r?.n} extra rows`);
  }
  checks.push({ name: 'no double count: each packet stored once', ok: dupRows.length === 0, detail: dupRows.length ? dupRows.join('; ') : `${stores.length} clouds, no (segment, vehicle, seq, ts) stored twice` });
  return checks;
}
