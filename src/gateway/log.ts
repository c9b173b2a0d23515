// The gateway's log, in one format: pino's JSON lines when stdout is not a terminal (what
// log collectors read), and the same records as one readable line each on a terminal.
// Everything the gateway says goes through it, start-up banners included (#17).
import { pino, type Logger } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };

export interface GatewayLoggerOptions {
  /** Default: IOV_LOG_LEVEL, else info. */
  level?: string;
  /** Human-readable lines instead of JSON (default: when stdout is a terminal). */
  pretty?: boolean;
  /** Where lines go (default stdout). */
  write?: (line: string) => void;
}

export function createGatewayLogger(opts: GatewayLoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.IOV_LOG_LEVEL ?? 'info';
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  const write = opts.write ?? ((line: string) => void process.stdout.write(line));
  return pino({ level, name: 'iov-gateway' }, { write: pretty ? (line: string) => write(prettyLine(line)) : write });
}

/** One pino JSON line as "HH:MM:SS.mmm LEVEL message key=value …" (an error's stack below it). */
export function prettyLine(json: string): string {
  const { level, time, msg, pid: _pid, hostname: _host, name: _name, err, ...rest } = JSON.parse(json) as Record<string, unknown>;
  const when = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const e = err as { message?: string; stack?: string } | undefined;
  if (e?.message !== undefined) fields.push(`err=${JSON.stringify(e.message)}`);
  const stack = e?.stack ? `\n${e.stack.split('\n').slice(1).join('\n')}` : '';
  return `${when} ${LEVELS[level as number] ?? String(level)} ${String(msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}${stack}\n`;
}
