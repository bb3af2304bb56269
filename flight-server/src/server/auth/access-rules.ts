/**
 * The least role each Flight call and action needs (CONTRACT.md, Auth): `read` < `write` < `admin`.
 * Handshake needs none; an action type the server does not know needs `read` (it is then refused
 * as INVALID_ARGUMENT by the action dispatcher).
 */
import type { Role } from './user-table.js';

const RANK: Record<Role, number> = { read: 0, write: 1, admin: 2 };

export const CALL_ROLES = {
  ListFlights: 'read',
  GetFlightInfo: 'read',
  PollFlightInfo: 'read',
  GetSchema: 'read',
  DoGet: 'read',
  ListActions: 'read',
  DoPut: 'write',
  DoExchange: 'write',
  DoAction: 'read',
} as const satisfies Record<string, Role>;

export const ACTION_ROLES = {
  describe_dataset: 'read',
  health: 'read',
  list_files: 'read',
  list_keys: 'read',
  create_dataset: 'write',
  evolve_schema: 'write',
  delete_range: 'write',
  compact: 'write',
  drop_dataset: 'admin',
  vacuum: 'admin',
  set_retention: 'admin',
} as const satisfies Record<string, Role>;

export type GuardedCall = keyof typeof CALL_ROLES;

export function isGuardedCall(rpc: string): rpc is GuardedCall {
  return Object.hasOwn(CALL_ROLES, rpc);
}

/** The role a call (or, for DoAction, the action `actionType`) needs. */
export function requiredRole(rpc: GuardedCall, actionType?: string): Role {
  if (rpc === 'DoAction' && actionType !== undefined && Object.hasOwn(ACTION_ROLES, actionType)) {
    return ACTION_ROLES[actionType as keyof typeof ACTION_ROLES];
  }
  return CALL_ROLES[rpc];
}

export function roleAllows(role: Role, needed: Role): boolean {
  return RANK[role] >= RANK[needed];
}
