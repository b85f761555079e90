import { TnyError } from '../platform/errors.js';

export const ALIAS_PATTERN = /^[A-Za-z0-9_-]{3,64}$/;

/** Words nobody may take, besides the first segment of every route tny serves. */
export const BUILTIN_RESERVED = ['api', 'docs', 'health', 'metrics', 'admin', 'static', 'openapi', 'assets', 'app'];

export function checkAlias(alias: string, reserved: ReadonlySet<string>): void {
  if (!ALIAS_PATTERN.test(alias)) {
    const message = 'an alias is 3 to 64 characters of A-Z, a-z, 0-9, _ and -';
    throw new TnyError('INVALID_ALIAS', { message, details: [{ field: 'alias', message }] });
  }
  if (reserved.has(alias.toLowerCase())) {
    const message = `"${alias}" is reserved`;
    throw new TnyError('RESERVED_ALIAS', { message, details: [{ field: 'alias', message }] });
  }
}
