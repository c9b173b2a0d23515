// The chaos demo: the pipeline as separate OS processes, seeded kills and pauses, checked
// against the batch oracle (docs/scaleout.md).
export { runChaosDemo, formatChaosSummary, type ChaosDemoOptions, type ChaosDemoSummary } from './demo.ts';
export { planChaos, runChaos, type ChaosAction, type ChaosEvent, type ChaosPlanOptions, type ChaosRun } from './driver.ts';
export { endOffsets, firstCopies, isLogTick, readLog, seekGroup, type LogCopy, type LogEntry, type LogTick, type Offsets } from './log.ts';
export { allRunning, collectLines, drainUntilCommitted, freePort, lastChange, runEvents, runTopology, uncommitted } from './run.ts';
export { checkAgainstOracle, cleanStart, type OracleCheckInput } from './oracle.ts';
