import { Type, type Static } from 'typebox';

/**
 * TypeBox schemas: request validation and the OpenAPI document come from these. Every
 * string and array has a generous upper bound, so validating with `allErrors` (all field
 * errors in one answer) stays cheap whatever a client sends; the exact limits (20 tags,
 * URL_MAX_LENGTH, …) are checked by the use cases with their own error codes.
 */

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const LinkBody = Type.Object(
  {
    url: Type.String({ maxLength: 65_536, description: 'The http(s) URL to redirect to.', examples: ['https://example.com/a/long/path'] }),
    alias: Type.Optional(Type.String({ maxLength: 256, description: 'Custom key: 3–64 of A-Z a-z 0-9 _ -.' })),
    expires_at: Type.Optional(Nullable(Type.String({ maxLength: 64, description: 'ISO 8601 date-time after which the link answers 410.' }))),
    max_clicks: Type.Optional(Nullable(Type.Integer({ description: 'Clicks after which the link answers 410.' }))),
    redirect_status: Type.Optional(Type.Integer({ description: '301, 302, 307 or 308.' })),
    password: Type.Optional(Nullable(Type.String({ maxLength: 1024, description: 'Visitors must enter it before the redirect.' }))),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 256 }), { maxItems: 100, description: 'Up to 20 tags, no spaces or commas.' })),
    forward_query: Type.Optional(Type.Boolean({ description: "Append the visitor's query string to the target." })),
    disabled: Type.Optional(Type.Boolean({ description: 'A disabled link answers 410.' })),
  },
  { additionalProperties: false },
);
export type LinkBody = Static<typeof LinkBody>;

export const LinkPatchBody = Type.Partial(LinkBody, { additionalProperties: false });
export type LinkPatchBody = Static<typeof LinkPatchBody>;

export const Link = Type.Object({
  key: Type.String(),
  short_url: Type.String(),
  url: Type.String(),
  account_id: Type.Integer(),
  created_at: Type.String(),
  updated_at: Type.String(),
  expires_at: Nullable(Type.String()),
  max_clicks: Nullable(Type.Integer()),
  click_count: Type.Integer(),
  redirect_status: Type.Integer(),
  password_protected: Type.Boolean(),
  tags: Type.Array(Type.String()),
  forward_query: Type.Boolean(),
  disabled: Type.Boolean(),
});

export const KeyParams = Type.Object({ key: Type.String({ maxLength: 64 }) });

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ description: '1–100, default 20.' })),
    cursor: Type.Optional(Type.String({ maxLength: 1024, description: 'next_cursor of the previous page.' })),
    tag: Type.Optional(Type.String({ maxLength: 256 })),
    q: Type.Optional(Type.String({ maxLength: 1024, description: 'Case-insensitive text in the URL or key.' })),
    created_after: Type.Optional(Type.String({ description: 'ISO 8601, inclusive.' })),
    created_before: Type.Optional(Type.String({ description: 'ISO 8601, exclusive.' })),
    sort: Type.Optional(Type.Union([Type.Literal('created_at'), Type.Literal('clicks')])),
    order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const StatsQuery = Type.Object(
  {
    from: Type.Optional(Type.String({ description: 'First UTC day, YYYY-MM-DD (default: 29 days before to).' })),
    to: Type.Optional(Type.String({ description: 'Last UTC day, YYYY-MM-DD (default: today).' })),
  },
  { additionalProperties: false },
);

const Count = (name: string) => Type.Object({ [name]: Type.String(), clicks: Type.Integer() });
export const Stats = Type.Object({
  key: Type.String(),
  click_count: Type.Integer(),
  from: Type.String(),
  to: Type.String(),
  total: Type.Integer(),
  humans: Type.Integer(),
  bots: Type.Integer(),
  daily: Type.Array(Type.Object({ date: Type.String(), clicks: Type.Integer(), humans: Type.Integer(), bots: Type.Integer() })),
  referrers: Type.Array(Count('host')),
  browsers: Type.Array(Count('browser')),
  os: Type.Array(Count('os')),
});

export const ErrorEnvelope = Type.Object({
  status: Type.Literal('error'),
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  }),
});

export const success = <T extends Parameters<typeof Type.Object>[0][string]>(data: T) =>
  Type.Object({ status: Type.Literal('success'), data });

export const list = <T extends Parameters<typeof Type.Object>[0][string]>(item: T) =>
  Type.Object({
    status: Type.Literal('success'),
    data: Type.Array(item),
    pagination: Type.Object({ next_cursor: Nullable(Type.String()), limit: Type.Integer() }),
  });

/** Error responses every route may send. */
export const errorResponses = { '4xx': ErrorEnvelope, '5xx': ErrorEnvelope };
