/**
 * Exit codes and the one line a failure prints. 0: done; 1: refused (by the server, or the input
 * data is invalid); 2: usage (bad options, a file that cannot be opened, an unknown format).
 */
import { FlightError } from '@flightdeck/proto';
import { CommanderError } from 'commander';
import { InputError } from '../sdk/input-error.js';

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

/** A command line that cannot be carried out as written. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * A server's refusal in a command that talks to more than one server (`copy`): the URL it names
 * replaces the global `--url` in the printed line.
 */
export class RemoteFailure extends Error {
  override readonly name = 'RemoteFailure';
  constructor(
    readonly url: string,
    readonly error: FlightError,
  ) {
    super(error.message);
  }
}

export interface Failure {
  line: string;
  exitCode: number;
}

/** How the command line identified itself: `--user`/`--password`, `--token`, or not at all. */
export type Credentials = 'user' | 'token' | 'none';

export interface FailureContext {
  url: string;
  credentials: Credentials;
}

const LOG_IN = '--user <name> --password <password> (env FLIGHT_USER, FLIGHT_PASSWORD)';

/**
 * An UNAUTHENTICATED refusal in the CLI's words: the server's reason without its hint for other
 * clients (Handshake, pyarrow's authenticate_basic_token), then the options that fix it.
 */
function unauthenticated(message: string, credentials: Credentials): string {
  const reason = message.replace(/:\s*(send `authorization|Handshake again)[\s\S]*$/, '').replace(/\s*\(pyarrow:[^)]*\)/, '').trim();
  let hint: string;
  switch (credentials) {
    case 'user':
      hint = 'check --user and --password (env FLIGHT_USER, FLIGHT_PASSWORD)';
      break;
    case 'token':
      hint = `pass a fresh --token (env FLIGHT_TOKEN), or log in with ${LOG_IN}`;
      break;
    case 'none':
      hint = `log in with ${LOG_IN}, or pass --token <token> (env FLIGHT_TOKEN)`;
      break;
    default: {
      const never: never = credentials;
      throw new Error(`unknown credentials ${String(never)}`);
    }
  }
  return reason === '' ? hint : `${reason}: ${hint}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The line printed for `err` (without the `flightdeck: ` prefix) and the exit code. */
export function describeFailure(err: unknown, { url, credentials }: FailureContext): Failure {
  if (err instanceof UsageError) return { line: oneLine(err.message), exitCode: EXIT_USAGE };
  if (err instanceof CommanderError) return { line: oneLine(err.message.replace(/^error: /, '')), exitCode: EXIT_USAGE };
  if (err instanceof RemoteFailure) return describeFailure(err.error, { url: err.url, credentials });
  if (err instanceof InputError) return { line: oneLine(err.message), exitCode: EXIT_REFUSED };
  if (err instanceof FlightError) {
    if (err.code === 'UNAVAILABLE') return { line: oneLine(`UNAVAILABLE: cannot reach ${url}: ${err.message}`), exitCode: EXIT_REFUSED };
    if (err.code === 'UNAUTHENTICATED') return { line: oneLine(`UNAUTHENTICATED: ${unauthenticated(err.message, credentials)}`), exitCode: EXIT_REFUSED };
    return { line: oneLine(`${err.code}: ${err.message}`), exitCode: EXIT_REFUSED };
  }
  const sys = err as NodeJS.ErrnoException;
  if (typeof sys?.code === 'string' && typeof sys.path === 'string') {
    const reasons: Record<string, string> = { ENOENT: 'no such file', EACCES: 'permission denied', EISDIR: 'is a directory' };
    return { line: `${sys.path}: ${reasons[sys.code] ?? sys.message}`, exitCode: EXIT_USAGE };
  }
  return { line: oneLine(`internal error: ${err instanceof Error ? err.message : String(err)}`), exitCode: EXIT_REFUSED };
}
