/** Where short keys come from. Each strategy is a file; `create-link` drives the retries. */
export const KEY_LENGTH = 7;
/** 62^7: the number of 7-character Base62 keys. */
export const KEY_SPACE = 62 ** KEY_LENGTH;

export type KeyStrategyName = 'counter' | 'hash' | 'random';

export interface KeyCandidates {
  readonly strategy: KeyStrategyName;
  /**
   * The key to try for attempt `attempt` (0, 1, …) of one create. A strategy that is
   * collision-free (counter) still gets further attempts when a custom alias took a key.
   */
  candidate(url: string, accountId: number, attempt: number): Promise<string> | string;
}
