/**
 * `flightdeck hash-password`: reads a password from standard input (without echo on a terminal)
 * and prints its scrypt hash, ready for a FLIGHT_USERS_FILE line `user:<hash>:role`.
 */
import { hashPassword } from '@flightdeck/contract';
import { UsageError } from './cli-error.js';

export interface HashPasswordIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** One line typed on a terminal, not echoed. */
function readHidden(io: HashPasswordIo): Promise<string> {
  const { stdin, stderr } = io;
  stderr.write('password: ');
  return new Promise((resolve, reject) => {
    let text = '';
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.resume();
    const finish = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new Error('interrupted'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** All of a piped stdin, less one trailing newline. */
async function readPiped(stdin: NodeJS.ReadStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** Reads the password and prints the hash; an empty password is a usage error. */
export async function runHashPassword(io: HashPasswordIo): Promise<void> {
  const password = io.stdin.isTTY ? await readHidden(io) : await readPiped(io.stdin);
  if (password === '') {
    throw new UsageError('hash-password: the password is empty (pipe it in, e.g. `printf %s "$PW" | flightdeck hash-password`)');
  }
  io.stdout.write(`${await hashPassword(password)}\n`);
}
