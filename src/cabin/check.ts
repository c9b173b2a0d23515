// Independent feasibility checker for an allocation. It recomputes everything from the raw
// instance (it does not use the GAP reduction in model.ts), so a bug in the reduction or a
// solver shows up as a violation here.
import type { AllocationInstance, BlockAllocation } from './types.ts';

export interface CheckResult {
  ok: boolean;
  violations: string[];
  /** cost recomputed from the raw parameters */
  totalCost: number;
}

export function checkAllocation(inst: AllocationInstance, allocs: BlockAllocation[]): CheckResult {
  const v: string[] = [];
  const centres = new Map(inst.centres.map((c, i) => [c.id, { c, i }]));
  const used = new Map<string, number>();
  const seen = new Set<string>();
  let total = 0;
  const K = (inst.rentalHours * 3600) / inst.windowS;
  for (const a of allocs) {
    const j = inst.blocks.findIndex((b) => b.id === a.block);
    if (j < 0) { v.push(`${a.block}: not a block of the instance`); continue; }
    if (seen.has(a.block)) v.push(`${a.block}: allocated more than once`);
    seen.add(a.block);
    const b = inst.blocks[j]!;
    const ce = centres.get(a.centre);
    if (!ce) { v.push(`${a.block}: unknown centre ${a.centre}`); continue; }
    const { c, i } = ce;
    const n = a.replicas;
    if (!Number.isInteger(n) || n < 1) { v.push(`${a.block}: replicas ${n} is not a positive integer`); continue; }
    if (b.maxReplicas !== undefined && n > b.maxReplicas) v.push(`${a.block}: ${n} replicas > maxReplicas ${b.maxReplicas}`);
    if (n * c.vmStorage < b.size - 1e-9) v.push(`${a.block}: storage ${n}×${c.vmStorage} MB < ${b.size} MB`);
    // latency from the distance, written out again on purpose
    let km = inst.distanceKm?.[i]?.[j];
    if (km === undefined) {
      const r = Math.PI / 180;
      const h = Math.sin(((b.lat - c.lat) * r) / 2) ** 2 + Math.cos(c.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lng - c.lng) * r) / 2) ** 2;
      km = 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)));
    }
    const L = (inst.latency.baseMs + inst.latency.msPerKm * km) / 1000;
    const t = L + b.size / n / c.vmBandwidth + b.size / n / c.vmSpeed;
    if (t > inst.deadlineS * (1 + 1e-9)) v.push(`${a.block}: window takes ${t.toFixed(3)} s on ${n} VMs at ${c.id} > deadline ${inst.deadlineS} s`);
    used.set(c.id, (used.get(c.id) ?? 0) + n);
    total += c.uplinkPrice * (b.size / 1024) * K + c.vmPrice * n * inst.rentalHours;
  }
  for (const b of inst.blocks) if (!seen.has(b.id)) v.push(`${b.id}: not allocated`);
  for (const [id, n] of used) {
    const c = centres.get(id)!.c;
    if (n > c.vmCount) v.push(`${id}: ${n} VMs used > ${c.vmCount} available`);
  }
  return { ok: v.length === 0, violations: v, totalCost: total };
}
