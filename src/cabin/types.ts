// The allocation model's data (DESIGN.md §6; symbols of the paper's Table 3, docs/cabin.md §2).
import type { Gap } from './gap.ts';

/** A resource domain centre as the allocator sees it (one node of the directory). */
export interface CentreParams {
  id: string;
  provider: string;
  location: string;
  /** V_i: data one VM processes per second, MB/s */
  vmSpeed: number;
  /** P_i: price of one VM per hour */
  vmPrice: number;
  /** U_i: uplink (transfer-in) price per GB */
  uplinkPrice: number;
  /** R_i: VMs available to us */
  vmCount: number;
  /** N_i: network bandwidth of one VM, MB/s */
  vmBandwidth: number;
  /** M_i: storage of one VM, MB */
  vmStorage: number;
  lat: number;
  lng: number;
}

/** A data block: one segment's data per window. */
export interface BlockParams {
  id: string;
  /** S_j: MB per window */
  size: number;
  /** cap on VMs (= replicas) for this block: the segment's maxReplicas */
  maxReplicas?: number;
  lat: number;
  lng: number;
}

export interface LatencyModel {
  /** fixed part (routing, TLS, queueing) in ms */
  baseMs: number;
  /** per km of great-circle distance, ms (fibre ≈ 0.005 ms/km one way; routes ≈ 2× longer) */
  msPerKm: number;
}

export interface AllocationInstance {
  name: string;
  /** D: every block's window must be transferred and processed within this many seconds */
  deadlineS: number;
  /** T: the rental period the cost is computed over, hours */
  rentalHours: number;
  /** W: window length, seconds (a block is one window of data) */
  windowS: number;
  latency: LatencyModel;
  centres: CentreParams[];
  blocks: BlockParams[];
  /** optional F_ij in km, [centre][block]; great-circle distance when absent */
  distanceKm?: number[][];
  /** What runs now, block id → centre id: placing a block elsewhere pays `migration` (docs/cabin.md §2.2). */
  running?: Record<string, string>;
  /** The migration term's parameters (default DEFAULT_MIGRATION). */
  migration?: MigrationCost;
}

/** A one-off cost per segment moved: fixedCost + U_i · stateWindows · S_j / 1024 (docs/cabin.md §2.2). */
export interface MigrationCost {
  /** $ per segment moved: starting its processes, the consumer group's hand-over */
  fixedCost: number;
  /** windows of the segment's data the new centre re-reads (the open windows) */
  stateWindows: number;
}

/** The product's solvers (exact, fast) and the laboratory's (src/cabin/lab: ga, hybrid, tabu). */
export const SOLVER_NAMES = ['exact', 'fast', 'ga', 'hybrid', 'tabu'] as const;
export type SolverName = (typeof SOLVER_NAMES)[number];
export type AllocationStatus = 'optimal' | 'feasible' | 'infeasible' | 'unknown';

export interface BlockAllocation {
  block: string;
  centre: string;
  /** n_ij */
  replicas: number;
  /** L_ij + transfer + processing for one window, ms */
  expectedLatencyMs: number;
  transferCost: number;
  rentalCost: number;
  /** the one-off migration term when the block moves off the running plan's centre (docs/cabin.md §2.2) */
  migrationCost?: number;
  /** transfer + rental (+ migration): the objective's share of this block */
  cost: number;
}

export interface AllocationResult {
  instance: string;
  solver: SolverName;
  status: AllocationStatus;
  totalCost: number;
  /** best proven lower bound on the optimum (−Infinity if none) */
  lowerBound: number;
  /** (totalCost − lowerBound)/lowerBound */
  gap: number;
  timeMs: number;
  allocations: BlockAllocation[];
  /** why the instance cannot be solved (status 'infeasible'), one line per reason */
  explanation: string[];
  /** solver details (proof, iterations, …) */
  info: Record<string, unknown>;
}

export interface SolveOptions {
  /** wall-clock budget, ms: the solver returns by then plus its documented margin */
  timeLimitMs: number;
  seed: number;
}

/** What every GAP solver returns through the one interface below. */
export interface GapSolution {
  /** block j → centre index, or null when no plan was found */
  assignment: Int32Array | null;
  status: AllocationStatus;
  /** proven lower bound on the optimum (−Infinity if none) */
  lowerBound: number;
  /** solver details for `iov allocate --json` (proof, iterations, phases…) */
  info: Record<string, unknown>;
}

/** One solver interface: the product's and the laboratory's solvers all plug in here. */
export interface GapSolver {
  name: SolverName;
  /** budget used when the caller gives none, ms */
  defaultTimeLimitMs: number;
  solve(g: Gap, opts: SolveOptions): Promise<GapSolution>;
}
