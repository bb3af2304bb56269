/**
 * Server credentials: plaintext gRPC, or TLS from FLIGHT_TLS_CERT / FLIGHT_TLS_KEY (PEM files),
 * requiring client certificates signed by FLIGHT_TLS_CLIENT_CA when that is set.
 */
import { readFileSync } from 'node:fs';
import { ServerCredentials } from '@grpc/grpc-js';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile: string | null;
}

function readPem(path: string, variable: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new Error(`${variable}=${JSON.stringify(path)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN ')) throw new Error(`${variable}=${JSON.stringify(path)} is not a PEM file`);
  return pem;
}

export function serverCredentials(tls: TlsFiles | null): ServerCredentials {
  if (tls === null) return ServerCredentials.createInsecure();
  const certChain = readPem(tls.certFile, 'FLIGHT_TLS_CERT');
  const privateKey = readPem(tls.keyFile, 'FLIGHT_TLS_KEY');
  const clientCa = tls.clientCaFile === null ? null : readPem(tls.clientCaFile, 'FLIGHT_TLS_CLIENT_CA');
  return ServerCredentials.createSsl(clientCa, [{ cert_chain: certChain, private_key: privateKey }], clientCa !== null);
}
