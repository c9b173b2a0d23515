import type { Command } from 'commander';
import { badOption, intOption, numberOption, seedOption, stateDirOption } from '../options.ts';

// `iov simulate`: drive a running gateway over HTTP with the seeded fleet simulator
// (DESIGN.md §7 "Fleet simulator"; docs/embedded.md), spread over one or more gateways with
// retries. Prints a progress line per second on stderr and a JSON report on stdout. Exit
// code 1, with what failed on stderr, if some batch was never acknowledged.
export function register(program: Command): void {
  stateDirOption(seedOption(program
    .command('simulate')
    .description('drive a gateway over HTTP (or MQTT, --mqtt) with a simulated fleet (seeded, reproducible)')
    .option('--target <url>', 'gateway base URL, e.g. http://127.0.0.1:8080; several: repeat it or separate by commas (requests go round robin, a retry to the next)',
      (v: string, prev: string[]) => [...prev, ...v.split(',').map((x) => x.trim()).filter(Boolean)], [] as string[])
    .option('--retries <n>', 'attempts after the first for a request that timed out, got 408/429/5xx or no connection', '5')
    .option('--timeout <ms>', 'per-attempt timeout, ms', '10000')
    .option('--vehicles <n>', 'fleet size', '10000')
    .option('--rate <n>', 'packets per second (default: real time, vehicles / interval)')
    .option('--duration <s>', 'seconds to run', '60')
    .option('--interval <s>', 'reporting interval per vehicle, seconds of event time', '5')
    .option('--batch <n>', 'packets per request', '500')
    .option('--concurrency <n>', 'requests in flight', '4')
    .option('--api-key <key>', 'API key (default: $IOV_API_KEY)')
    .option('--mqtt [url]', 'publish over MQTT instead of HTTP (QoS 1, one message per batch; default: the local broker of `iov infra up`; docs/mqtt.md)')
    .option('--gateway-id <id>', 'with --mqtt: the gateway id = broker login and topic (default: $IOV_GATEWAY_ID, else "sim")')
    .option('--duplicates <f>', 'share of duplicate packets', '0.01')
    .option('--out-of-order <f>', 'share of out-of-order packets', '0.01')
    .option('--late <f>', 'share of late packets', '0.002')
    .option('--malformed <f>', 'share of malformed packets', '0.005')))
    .action(async (o: Record<string, string | undefined> & { target: string[]; mqtt?: string | boolean }) => {
      const { runSimulation, connectMqttPublisher } = await import('../../sim/index.ts');
      if (o.target.length === 0 && !o.mqtt) throw badOption('--target <url> is required (one or more gateway URLs), or --mqtt');
      const apiKey = o.apiKey ?? process.env.IOV_API_KEY;
      let publisher: import('../../sim/index.ts').MqttPublisher | undefined;
      if (o.mqtt) {
        const { readLocalState, stateFile } = await import('../../topology/index.ts');
        const url = typeof o.mqtt === 'string' ? o.mqtt : readLocalState(stateFile(o.stateDir))?.mqtt?.url;
        if (!url) throw badOption('--mqtt: no broker URL given and no local broker recorded (try `iov infra up`)');
        publisher = await connectMqttPublisher({ url, gatewayId: o.gatewayId ?? process.env.IOV_GATEWAY_ID ?? 'sim', ...(apiKey ? { apiKey } : {}) });
        o.target = [url];
      }
      const report = await runSimulation({
        targets: o.target,
        retries: intOption('--retries', o.retries, 0),
        timeoutMs: numberOption('--timeout', o.timeout, 0),
        vehicles: intOption('--vehicles', o.vehicles, 1),
        ...(o.rate !== undefined ? { rate: numberOption('--rate', o.rate, 0) } : {}),
        durationS: numberOption('--duration', o.duration, 0),
        intervalS: numberOption('--interval', o.interval, 0),
        seed: intOption('--seed', o.seed, 0),
        batchSize: intOption('--batch', o.batch, 1),
        concurrency: intOption('--concurrency', o.concurrency, 1),
        ...(apiKey ? { apiKey } : {}),
        fractions: {
          duplicate: numberOption('--duplicates', o.duplicates, 0), outOfOrder: numberOption('--out-of-order', o.outOfOrder, 0),
          late: numberOption('--late', o.late, 0), malformed: numberOption('--malformed', o.malformed, 0),
        },
        ...(publisher ? { send: publisher.send } : {}),
        onProgress: (r) => process.stderr.write(
          `[${r.elapsedS.toFixed(1).padStart(5)} s] sent ${r.sent} accepted ${r.accepted} duplicates ${r.duplicates} rejected ${r.rejected} crossings ${r.crossings} retries ${r.retries} failed batches ${r.failedBatches}\n`,
        ),
      });
      await publisher?.close();
      process.stdout.write(`${JSON.stringify({ ...report, packetsPerS: Math.round(report.sent / Math.max(0.001, report.elapsedS)) }, null, 2)}\n`);
      if (report.failedBatches > 0) {
        process.stderr.write(`iov simulate: ${report.failedBatches} of ${report.batches} batches never acknowledged; ${report.stoppedEarly ?? `first failure: ${report.firstFailure}`}\n`);
        process.exitCode = 1;
      }
    });
}
