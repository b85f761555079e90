/**
 * Typed environment-variable fields. Each field knows how to parse its raw string, its
 * default and its documentation; the registry in `registry.ts` is a record of them.
 */
export interface Field<T> {
  readonly kind: string;
  readonly doc: string;
  readonly default: T;
  /** How the default reads in the README table. */
  readonly shownDefault: string;
  parse(raw: string): T;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function field<T>(kind: string, doc: string, def: T, parse: (raw: string) => T, shown?: string): Field<T> {
  return {
    kind,
    doc,
    default: def,
    shownDefault: shown ?? (def === undefined || def === '' ? '' : String(def)),
    parse,
  };
}

export function str(doc: string, def: string): Field<string> {
  return field('string', doc, def, (raw) => raw);
}

export function optionalStr(doc: string): Field<string | undefined> {
  return field<string | undefined>('string', doc, undefined, (raw) => (raw === '' ? undefined : raw));
}

export function int(doc: string, def: number, range: { min?: number; max?: number } = {}): Field<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
  return field('integer', doc, def, (raw) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`must be an integer, got "${raw}"`);
    const n = Number(raw);
    if (n < min || n > max) throw new ConfigError(`must be between ${min} and ${max}, got ${n}`);
    return n;
  });
}

export function num(doc: string, def: number, range: { min?: number; max?: number } = {}): Field<number> {
  const { min = -Infinity, max = Infinity } = range;
  return field('number', doc, def, (raw) => {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`must be a number, got "${raw}"`);
    if (n < min || n > max) throw new ConfigError(`must be between ${min} and ${max}, got ${n}`);
    return n;
  });
}

export function bool(doc: string, def: boolean): Field<boolean> {
  return field('boolean', doc, def, (raw) => {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new ConfigError(`must be true or false, got "${raw}"`);
  });
}

export function oneOf<const T extends string | number>(doc: string, def: T, values: readonly T[]): Field<T> {
  return field(`one of ${values.join(', ')}`, doc, def, (raw) => {
    const found = values.find((v) => String(v) === raw.trim());
    if (found === undefined) throw new ConfigError(`must be one of ${values.join(', ')}, got "${raw}"`);
    return found;
  });
}

export function list(doc: string, def: string[] = []): Field<string[]> {
  return field('comma-separated list', doc, def, (raw) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    def.join(','),
  );
}

export function url(doc: string, protocols: readonly string[]): Field<string | undefined> {
  return field<string | undefined>('URL', doc, undefined, (raw) => {
    if (raw.trim() === '') return undefined;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError('must be a URL');
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(`must start with ${protocols.join(' or ')}, got "${parsed.protocol}"`);
    }
    return raw.replace(/\/+$/, '');
  });
}
