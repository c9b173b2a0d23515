// Options every command spells the same way. The state folder is one flag, one environment
// variable and one default for every command (src/topology/state-dir.ts).
import type { Command } from 'commander';

/** `--state-dir <dir>`: where infra.json, plan.json, directory.json and the servers' data live. */
export function stateDirOption(cmd: Command): Command {
  return cmd.option('--state-dir <dir>', 'state folder: infra.json, plan.json, directory.json, server data (env IOV_STATE_DIR, default .iov)');
}

/** `-t, --topology <file>` (default: the example topology infra/topology/shanghai.yaml). */
export function topologyOption(cmd: Command): Command {
  return cmd.option('-t, --topology <file>', 'topology file (default infra/topology/shanghai.yaml)');
}

export function badOption(message: string): Error {
  return Object.assign(new Error(message), { code: 'BAD_OPTION' });
}
