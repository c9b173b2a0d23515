// Local multi-process runs: supervised child processes of the `iov` command.
export { createSupervisor, DEFAULT_RESTART, IOV_BIN, type ChildSpec, type Member, type MemberState, type RestartPolicy, type Supervisor, type SupervisorOptions } from './supervisor.ts';
export { READY_LINES, superviseCopies, withoutProcessesOption } from './copies.ts';
export { drainOnSignal, DRAIN_SIGNAL, type Drainable } from './drain.ts';
