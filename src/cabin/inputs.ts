// The desired state's inputs with one default each (docs/cabin.md §7): the topology, its
// demand file, and the centres — a status folder, else the directory store, else the
// example folder beside the topology. `iov allocate`, `iov plan` and `iov apply` read them
// here; the directory is returned too, so `iov apply --watch` can see when each centre last
// reported (its status file's mtime).
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_TOPOLOGY_FILE, loadTopology, resolveStateDir, statePaths, type Topology } from '../topology/index.ts';
import { DEFAULT_DEMAND, instanceFromTopology, loadDemand, type Demand } from './demand.ts';
import { centresFromDirectory, createDirectory, loadDirectory, registerFolder, type Directory } from './directory.ts';
import { CabinError } from './errors.ts';
import type { AllocationInstance } from './types.ts';

/**
 * The one default demand file of a topology: `demand.<topology name>.yaml` in the `cabin`
 * folder beside the topology's folder (infra/topology/shanghai.yaml →
 * infra/cabin/demand.shanghai.yaml), the file the demo reads; null if there is none.
 */
export function defaultDemandFile(topologyFile: string, topologyName: string): string | null {
  const f = resolve(dirname(topologyFile), '..', 'cabin', `demand.${topologyName}.yaml`);
  return existsSync(f) ? f : null;
}

export interface InputFiles {
  topology?: string;
  demand?: string;
  centres?: string;
  store?: string;
  stateDir?: string;
}

export interface PlanningInputs {
  topology: Topology;
  demand: Demand;
  /** Every registered centre, down ones too; the instance offers those not down. */
  directory: Directory;
  instance: AllocationInstance;
}

/** Notes (a default taken) go to `note`; bad files throw with the file named. */
export function readPlanningInputs(o: InputFiles, note: (line: string) => void = (l) => process.stderr.write(`note: ${l}\n`)): PlanningInputs {
  const topologyFile = o.topology ?? DEFAULT_TOPOLOGY_FILE;
  const topology = loadTopology(topologyFile);
  const demandFile = o.demand ?? defaultDemandFile(topologyFile, topology.name);
  if (!demandFile) note(`no demand file for ${topology.name}; using the built-in demand (docs/cabin.md §7)`);
  const demand = demandFile ? loadDemand(demandFile) : DEFAULT_DEMAND;
  const directory = readDirectory({ ...o, topology: topologyFile }, note);
  return { topology, demand, directory, instance: instanceFromTopology(topology, demand, centresFromDirectory(directory)) };
}

function readDirectory(o: InputFiles, note: (line: string) => void): Directory {
  if (o.centres) return folderDirectory(o.centres);
  const store = o.store ?? statePaths(resolveStateDir(o.stateDir)).directory;
  if (o.store || existsSync(store)) {
    const d = loadDirectory(store);
    if (centresFromDirectory(d).length || o.store) return d;
  }
  // No store yet: the example centres shipped with the repo.
  const fallback = resolve(dirname(o.topology ?? '.'), '..', 'cabin', 'centres');
  if (existsSync(fallback)) {
    note(`no directory store at ${store}; using the centres in ${fallback}`);
    return folderDirectory(fallback);
  }
  throw new CabinError('CABIN_NO_CENTRES', `no centres: run 'iov directory register <dir>' or pass --centres <dir>`);
}

/** A directory straight from a status folder (without a store); bad files throw, naming them. */
function folderDirectory(folder: string): Directory {
  const d = createDirectory();
  const rep = registerFolder(d, folder);
  if (rep.errors.length) {
    throw new CabinError('CABIN_BAD_STATUS_FILE', rep.errors.map((e) => `${e.file}: ${e.field}: ${e.message}`).join('\n'), rep.errors);
  }
  return d;
}
