import { AjvCompiler } from '@fastify/ajv-compiler';
import type { FastifyServerOptions } from 'fastify';

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>;

/**
 * Fastify's own validator with one change: JSON bodies are checked as sent, without type
 * coercion, so `"url": ["…"]`, `"max_clicks": true` or `"redirect_status": "302"` are 422
 * rather than silently converted. Query strings and path parameters are text, so they are
 * still coerced (`?limit=20` is the integer 20).
 */
export function strictBodyValidator(): BuildValidator {
  const pool = AjvCompiler();
  return (externalSchemas, options) => {
    const coercing = pool(externalSchemas, options);
    const strictOptions = { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } };
    const strict = pool(externalSchemas, strictOptions as Parameters<BuildValidator>[1]);
    return (route) => (route.httpPart === 'body' ? strict : coercing)(route);
  };
}
