/** Entry point of the `flightdeck` command: run, print a failure as one line, exit with its code. */
import { pathToFileURL } from 'node:url';
import { CommanderError } from 'commander';
import { describeFailure, EXIT_OK } from './cli-error.js';
import { DEFAULT_URL, type ConnectionOptions } from './connection.js';
import { createProgram, lazyClient } from './program.js';

export async function runCli(argv: readonly string[], io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let program: ReturnType<typeof createProgram> | undefined;
  const lazy = lazyClient(() => program!.opts<ConnectionOptions>());
  program = createProgram(io, lazy);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError && (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help')) {
      return EXIT_OK;
    }
    const opts = program.opts<ConnectionOptions>();
    const credentials = opts.user !== undefined ? 'user' : opts.token !== undefined && opts.token !== '' ? 'token' : 'none';
    const failure = describeFailure(err, { url: opts.url ?? DEFAULT_URL, credentials });
    io.stderr.write(`flightdeck: ${failure.line}\n`);
    return failure.exitCode;
  } finally {
    lazy.close();
  }
}

/**
 * Runs the command for `process.argv` and lets the process end by itself with its exit code,
 * rather than `process.exit()`: a put that failed mid-stream has cancelled its DoPut, and that
 * RST_STREAM must reach the server before the socket closes, or the server would take the
 * half-sent stream for a complete one.
 */
export async function main(): Promise<void> {
  // `flightdeck get ... | head`: a closed pipe ends the command quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT_OK);
  });
  process.exitCode = await runCli(process.argv.slice(2));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
