/**
 * Prints the scrypt hash of a password read from stdin, for FLIGHT_USERS_FILE:
 * `printf %s "$PW" | node --import tsx flight-server/src/service/hash-password-main.ts`.
 */
import { runHashPassword } from './hash-password-command.js';

process.exitCode = await runHashPassword(process);
