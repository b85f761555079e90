/** Who is calling: the account behind an API key. Admins see every account's data. */
export interface Actor {
  accountId: number;
  isAdmin: boolean;
  keyId: string;
}

/** True when `actor` may see or change something owned by `ownerAccountId`. */
export function canAccess(actor: Actor, ownerAccountId: number): boolean {
  return actor.isAdmin || actor.accountId === ownerAccountId;
}
